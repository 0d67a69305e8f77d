"""`laserdose patients add` and `list`: name parts, record numbers, pages and search from the command line."""

import json

from typer.testing import CliRunner

from laserdose.cli.main import app

PASSWORD = "correct horse battery"


def run(*args, stdin=None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_patients_add_and_list_by_family_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    assert run("db", "upgrade", "--database-url", url).exit_code == 0
    assert (
        run(
            "users", "add", "nina", "--role", "clinician", "--database-url", url, stdin=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    common = [
        "--as",
        "nina",
        "--born",
        "1970-05-17",
        "--skin-type",
        "3",
        "--bmi",
        "26",
        "--database-url",
        url,
    ]
    added = run("patients", "add", "--family", "Svensson", "--given", "Eva", "--json", *common)
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["record_number"] == f"LD-{json.loads(added.stdout)['id']}"
    assert run("patients", "add", "--family", "Berg", "--record-number", "K-7", *common).exit_code == 0
    taken = run("patients", "add", "--family", "Dahl", "--record-number", "k-7", *common)
    assert taken.exit_code == 2 and "Record number k-7 already belongs to another patient." in taken.stderr
    listed = json.loads(run("patients", "list", "--as", "nina", "--json", "--database-url", url).stdout)
    assert [p["family_name"] for p in listed["items"]] == ["Berg", "Svensson"] and listed["total"] == 2
    second = run(
        "patients", "list", "--as", "nina", "--size", "1", "--page", "2", "--json", "--database-url", url
    )
    assert [p["name"] for p in json.loads(second.stdout)["items"]] == ["Eva Svensson"]
    found = run("patients", "list", "--as", "nina", "--search", "k-7", "--json", "--database-url", url)
    assert [p["record_number"] for p in json.loads(found.stdout)["items"]] == ["K-7"]
    stranger = run("patients", "list", "--as", "nobody", "--database-url", url)
    assert stranger.exit_code == 2 and "give --as an existing admin or clinician" in stranger.stderr
