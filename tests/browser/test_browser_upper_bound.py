"""Browser: the plan editor's live preview says when the target dose is an upper bound, and why."""

from playwright.sync_api import expect

from conftest import log_in


def test_a_facet_plan_preview_warns_that_its_target_dose_is_an_upper_bound(page, tmp_path):
    log_in(page, "clinician")
    page.click("text=New patient")
    page.fill("#given_name", "Fay")
    page.fill("#family_name", "Facet")
    page.fill("#birth_date", "1961-02-03")
    page.fill("#skin_type", "3")
    page.fill("#bmi", "27")
    page.click("text=Save patient")
    page.click("text=Screen patient")
    page.select_option("#diagnosis", "facet-pain")
    page.click("text=Screen patient >> nth=-1")
    expect(page.locator("#decision")).to_have_text("treat")
    page.click("text=Open the plan editor")
    expect(page.locator("#protocol")).to_have_value("facet-pain")
    bound = page.locator("#plan-upper-bound")
    expect(bound).to_be_visible()
    expect(bound).to_contain_text("The target dose is an upper bound.")
    expect(bound).to_contain_text("cancellous bone filled with red marrow")
    expect(page.locator("#plan-target")).to_contain_text("at most")
    expect(page.locator("#plan-target")).to_contain_text("tissue optics alone")
    bound.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "upper-bound.png"), full_page=True)
