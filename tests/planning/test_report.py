from laserdose.machines.profile import load_profile
from laserdose.planning.report import safety_pages, table_pages
from laserdose.safety.summary import safety_summary, summary_rows


def _cell_texts(pages):
    texts = []
    for page in pages:
        for table in page.axes[0].tables:
            texts += [cell.get_text().get_text().replace("\n", " ") for cell in table.get_celld().values()]
    return texts


def test_safety_pages_hold_every_row_of_the_summary():
    summary = safety_summary(load_profile("30w-quad"), 10.0)
    texts = _cell_texts(safety_pages(summary))
    for section, item, value in summary_rows(summary):
        assert value in texts and item in texts and section in texts


def test_long_tables_continue_on_further_pages():
    rows = [("s", f"item {i}", "v") for i in range(60)]
    pages = table_pages("t", rows)
    assert len(pages) == 3
    assert sum(len(page.axes[0].tables[0].get_celld()) for page in pages) == 3 * (60 + 3)  # + header per page


def test_safety_summary_cli_writes_a_pdf(cli, tmp_path):
    out = tmp_path / "safety.pdf"
    result = cli("safety", "summary", "--device", "15w-dual", "--pdf", out)
    assert result.exit_code == 0, result.output
    pages = len(safety_pages(safety_summary(load_profile("15w-dual"), 10.0)))
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"/Count %d" % pages in data


def test_plan_report_names_the_maker_and_draws_its_logo():
    from matplotlib.figure import Figure

    from laserdose.clinical.patient import parse_patient
    from laserdose.clinical.protocols import get_protocol
    from laserdose.planning.letterhead import draw_logo
    from laserdose.planning.physics import default_physics
    from laserdose.planning.plan import make_plan
    from laserdose.planning.report import plan_rows

    profile = load_profile("30w-quad")
    patient = parse_patient(
        {"skin_type": 2, "bmi": 24.0, "area_cm2": 150.0, "screening": {"diagnosis": "facet-pain"}}
    )
    plan = make_plan(patient, get_protocol("facet-pain"), profile, default_physics())
    rows = plan_rows(plan, patient, profile)
    assert ("machine", "maker and model", f"{profile.manufacturer} {profile.model} (30w-quad)") in rows
    page = Figure()
    draw_logo(page, profile)
    assert [len(axes.images) for axes in page.axes] == [1]


def test_tables_of_long_rows_continue_before_they_run_off_the_page():
    rows = [("s", f"item {i}", "word " * 60) for i in range(20)]  # each value wraps to 6 lines
    pages = table_pages("t", rows)
    for page in pages:
        cells = page.axes[0].tables[0].get_celld()
        column = [cell for (_row, col), cell in cells.items() if col == 0]
        assert sum(cell.get_height() for cell in column) <= 1.0  # the axes' height: the stamp stays clear
    assert sum(len(page.axes[0].tables[0].get_celld()) for page in pages) == 3 * (20 + len(pages))


def test_a_version_3_plan_reports_its_bound_and_optics_as_not_assessed():
    from laserdose.domain.plan import plan_json, read_plan_document
    from laserdose.planning.report import target_bound_rows
    from plan_documents import treatment_plan

    data = plan_json(treatment_plan())
    old_target = {k: v for k, v in data["target"].items() if k in ("structure", "depth_mm", "dose_j_per_cm2",
                                                                   "dose_range_j_per_cm2")}  # fmt: skip
    old = read_plan_document(data | {"schema_version": 3, "target": old_target})
    assert target_bound_rows(old) == [
        ("target", "range from tissue optics", "not assessed"),
        ("target", "upper bound?", "not assessed (a plan made before version 4)"),
    ]
    rows = target_bound_rows(treatment_plan())  # optics factor 1.5, no upper bound
    assert rows == [
        ("target", "range from tissue optics", "x/÷ 1.5 at 2 SD, from each tissue's spread of mua and mus'")
    ]
