"""report: claims raise in full mode when the numbers disagree; 'A beats B' respects the seed-to-seed spread."""
import pytest

from course_utils import report, settings
from course_utils.report import ClaimError, Spread


@pytest.fixture
def full_mode(monkeypatch):
    monkeypatch.setattr(settings, "MODE", "full")


@pytest.fixture
def fast_mode(monkeypatch):
    monkeypatch.setattr(settings, "MODE", "fast")


def test_claim_that_holds_is_printed(full_mode, capsys):
    assert report.claim(0.9 > 0.5, "the fused model beats chance", "0.9 vs 0.5") is None
    assert "claim (holds): the fused model beats chance (0.9 vs 0.5)" in capsys.readouterr().out


def test_claim_that_fails_raises_in_full_mode(full_mode):
    with pytest.raises(ClaimError, match="does not hold: the curve rises"):
        report.claim(False, "the curve rises")


def test_claim_is_unchecked_in_fast_mode(fast_mode, capsys):
    report.claim(False, "the curve rises")
    assert "unchecked in fast mode" in capsys.readouterr().out


def test_spread_mean_sd_and_range():
    s = Spread([0.8, 0.85, 0.9])
    assert s.mean == pytest.approx(0.85) and s.sd == pytest.approx(0.05) and (s.lo, s.hi) == (0.8, 0.9)
    assert s.format(percent=True) == "85.0 ± 5.0 %"
    assert Spread([3.0]).sd == 0.0
    with pytest.raises(ValueError, match="at least one value"):
        Spread([])


def test_beats_needs_ranges_that_do_not_overlap():
    assert report.beats([0.8, 0.85, 0.9], [0.7, 0.75, 0.79])
    assert not report.beats([0.8, 0.85, 0.9], [0.7, 0.75, 0.81])  # the gap of 0.1 is inside the spread
    assert report.beats([0.1, 0.2, 0.15], [0.3, 0.4, 0.5], higher_is_better=False)
    assert report.beats([0.8, 0.85, 0.9], 0.5)  # against a fixed number (chance, a ceiling)


def test_claim_beats_fails_inside_the_noise_and_claim_tie_holds(full_mode):
    a, b = [0.80, 0.85, 0.90], [0.70, 0.75, 0.81]
    with pytest.raises(ClaimError, match="gap"):
        report.claim_beats(a, b, "A beats B")
    report.claim_tie(a, b, "A and B are within the noise")
    with pytest.raises(ClaimError):
        report.claim_tie([0.9, 0.91, 0.92], [0.5, 0.51, 0.52], "tied")


def test_claim_beats_refuses_single_runs_in_full_mode(full_mode):
    with pytest.raises(ClaimError, match="at least 3 seeds"):
        report.claim_beats([0.9], [0.8], "one run each")


def test_table_formats_percent_and_spreads(capsys):
    report.table([{"model": "cnn", "acc": 0.5, "band": Spread([0.1, 0.2, 0.3]), "n": 12345.0}], percent=["acc", "band"])
    out = capsys.readouterr().out
    assert "| cnn | 50.0 % | 20.0 ± 10.0 % | 12,345 |" in out
    with pytest.raises(ValueError, match="percent names columns"):
        report.table([{"a": 1.0}], percent=["b"])
