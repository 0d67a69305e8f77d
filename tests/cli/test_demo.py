def test_demo_shows_the_demo_patients_back_at_three_wavelengths(cli):
    result = cli("demo")
    assert result.exit_code == 0
    out = result.stdout
    for text in ("skin type III", "BMI 27", "thickness [mm]", "facet_joint", "nerve_root"):
        assert text in out
    for nm in ("810 nm", "980 nm", "1064 nm"):
        assert nm in out
