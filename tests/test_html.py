"""The HTML report in a real headless Chromium (Debian's chromium, driven by Playwright).

The page must render offline without console errors or any network request, filter, sort,
switch language and open a unit's detail, on the sample county and on a 5,000-unit
dataset (how fast it filters is measured by bench/html_report.py, not here). Screenshots are
kept as artifacts (in pytest's temporary folder and in $SANDING_TEST_ARTIFACTS, default
/tmp/sanding-html).
Skipped, with the reason, where chromium or playwright is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sanding_rules import synth
from sanding_rules.cli import EXIT_BAD_INPUT, main

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "fixtures" / "county"
MINI = ROOT / "fixtures" / "mini"
AS_OF = "2026-06-30"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("SANDING_TEST_ARTIFACTS", "/tmp/sanding-html"))
BIG_UNITS = 5000
# Types a query into the unit filter; resolves, once the next frame is painted, to the
# milliseconds that took, the number of matching units and the count label (bench/html_report.py
# uses it too).
FILTER_JS = """(q) => new Promise((resolve) => {
    const input = document.getElementById('unit-filter');
    const t0 = performance.now();
    input.value = q;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    document.body.getBoundingClientRect();
    requestAnimationFrame(() => setTimeout(() => resolve([
        performance.now() - t0,
        window.sandingReport.matched(),
        document.getElementById('unit-count').textContent]), 0));
})"""
BLOB = re.compile(r'<script type="application/json" id="sanding-data">(.*?)</script>', re.S)


def render(dataset: Path, out: Path, *args: str) -> Path:
    res = CliRunner().invoke(
        main,
        ["audit", str(dataset), "--as-of", AS_OF, "--format", "html", "--out", str(out), *args],
    )
    assert res.exit_code != EXIT_BAD_INPUT, res.stderr
    return out


def page_data(path: Path) -> dict:
    """The JSON blob the page reads (the \\u003c escapes are JSON's own)."""
    return json.loads(BLOB.search(path.read_text(encoding="utf-8")).group(1))


# --------------------------------------------------------------------------- without a browser


@pytest.fixture(scope="module")
def county_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(COUNTY, tmp_path_factory.mktemp("html") / "county.html")


def test_self_contained_with_a_strict_policy(county_html: Path) -> None:
    text = county_html.read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+';", csp)
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    # Nothing is loaded from anywhere: no src/href attributes, no URLs but the SVG namespace.
    assert not re.search(r"\s(src|href)\s*=", text)
    assert set(re.findall(r"https?://[^\s'\"]+", text)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in text and "url(" not in text
    assert text.count("<script") == 2 and "eval(" not in text and "innerHTML" not in text


def test_id_numbers_are_masked(county_html: Path) -> None:
    res = CliRunner().invoke(
        main, ["audit", str(COUNTY), "--as-of", AS_OF, "--format", "json", "--show-id-numbers"]
    )
    raw = [
        f["evidence"]["id_number"]
        for f in json.loads(res.stdout)["findings"]
        if f["evidence"].get("id_number")
    ]
    assert raw, "the county has findings with ID numbers (P02, P06, F01)"
    text = county_html.read_text(encoding="utf-8")
    for number in raw:
        assert len(number) < 11 or number not in text
    assert re.search(r"\d{6}\*{8}[\dX]{4}", text)


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium fonts-wqy-microhei)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install playwright)"
    )
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A page that records console errors, page errors and every non-file request."""

    def __init__(self, browser, path: Path, width: int = 1300, height: int = 1000) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("#unit-table tbody tr.u")

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def filter_ms(self, query: str) -> tuple[float, int, str]:
        """Type a query; milliseconds until the next frame is painted, matches, count label."""
        return self.page.evaluate(FILTER_JS, query)

    def rows(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#unit-table tbody tr.u", "rs => rs.map(r => r.getAttribute('data-unit'))"
        )

    def screenshot(self, folder: Path, name: str, **kwargs) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.page.screenshot(path=str(path), **kwargs)
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, ARTIFACTS / name)
        except OSError:
            pass
        return path

    def close(self) -> None:
        assert self.requests == [], f"network requests: {self.requests}"
        assert self.errors == [], self.errors
        self.page.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("html-artifacts")


def contains(unit: dict, q: str) -> bool:
    return q.lower() in f"{unit['i']} {unit['n']}".lower()


def test_county_renders_filters_sorts_and_opens_a_unit(
    browser, county_html: Path, artifacts: Path
) -> None:
    data = page_data(county_html)
    units = data["units"]
    p = Page(browser, county_html)
    page = p.page
    assert page.title().startswith("三定规则审计报告")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#unit-count").text_content() == f"显示 {len(units)} / {len(units)} 个单位"
    # Charts: one bar per grade, one per rule with findings.
    assert page.locator("#chart-grades svg g.bar").count() == len(data["meta"]["by_grade"])
    assert page.locator("#chart-rules svg g.bar").count() == len(data["meta"]["by_rule"])
    assert page.locator("#summary .card").count() >= 8
    assert f"{data['meta']['people']:,}" in page.locator("#summary").text_content()
    p.screenshot(artifacts, "county-summary.png", full_page=False)

    # Filter by a unit id, then by part of a name.
    target = max(units, key=lambda u: len(u["f"]))
    _, n, label = p.filter_ms(target["i"])
    assert n == sum(contains(u, target["i"]) for u in units) and target["i"] in p.rows()
    assert label == f"显示 {n} / {len(units)} 个单位"
    _, n, _ = p.filter_ms("教育")
    expected = [u["i"] for u in units if contains(u, "教育")]
    assert 0 < n == len(expected) < len(units)
    assert sorted(p.rows()) == sorted(expected)
    _, n, _ = p.filter_ms("没有这个单位")
    assert n == 0 and p.rows() == [] and page.locator(".empty").is_visible()
    _, n, _ = p.filter_ms("")
    assert n == len(units)
    # Grade and rule drop-downs.
    page.select_option("#grade-filter", "C")
    assert page.evaluate("window.sandingReport.matched()") == data["meta"]["by_grade"]["C"]
    page.select_option("#grade-filter", "")
    page.select_option("#rule-filter", "P02")
    p02 = {
        data["findings"][i]["u"] for u in units for i in u["f"] if data["findings"][i]["r"] == "P02"
    }
    assert set(page.evaluate("window.sandingReport.matchedUnits()")) == p02
    page.select_option("#rule-filter", "")

    # Sorting: by score ascending first (the lowest-scoring units are what a leader reads first).
    score_th = page.locator('#unit-table th[data-key="score"]')
    assert score_th.get_attribute("aria-sort") == "ascending"
    lowest = min(u["sc"] for u in units)
    assert page.locator("#unit-table tbody tr.u").first.locator("td").nth(2).text_content() == (
        f"{lowest:g}"
    )
    score_th.locator("button").click()
    assert score_th.get_attribute("aria-sort") == "descending"
    highest = max(u["sc"] for u in units)
    assert page.locator("#unit-table tbody tr.u").first.locator("td").nth(2).text_content() == (
        f"{highest:g}"
    )
    page.locator('#unit-table th[data-key="id"] button').click()
    assert p.rows()[:3] == sorted(u["i"] for u in units)[:3]

    # A unit's detail: findings with evidence, source rows and basis; the score breakdown.
    p.filter_ms(target["i"])
    page.locator(f'#unit-table tbody tr.u[data-unit="{target["i"]}"]').click()
    dialog = page.locator("dialog#detail")
    assert dialog.is_visible()
    assert page.locator("dialog#detail h2").text_content().startswith(target["i"])
    assert dialog.locator(".finding").count() == len(target["f"])
    first = data["findings"][target["f"][0]]
    text = dialog.text_content()
    assert data["rules"][first["r"]]["b"]["zh"] in text
    assert first["m"]["zh"] in text
    assert "roster.csv" in text or ".csv" in text
    assert dialog.locator("table.bd tbody tr").count() == len(target["b"])
    assert dialog.locator("table.bd tr.l1").count() == 5  # the model's five level-1 indicators
    p.screenshot(artifacts, "county-detail.png")
    page.locator("#detail-close").click()
    assert not dialog.is_visible()

    # English, and back.
    page.locator("#lang-toggle").click()
    assert page.locator("h1").text_content() == "Three-determinations audit report"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator('#unit-table th[data-key="score"]').text_content().startswith("Score")
    assert page.locator("#unit-count").text_content().startswith("Showing")
    p.screenshot(artifacts, "county-en.png")
    page.locator("#lang-toggle").click()
    assert page.locator("h1").text_content() == "三定规则审计报告"
    p.close()


def test_markup_in_data_stays_text(browser, tmp_path: Path) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    units = (folder / "units.csv").read_text(encoding="utf-8")
    evil = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    units = units.replace("青石县财政局", '"' + evil.replace('"', '""') + '"', 1)
    (folder / "units.csv").write_text(units, encoding="utf-8")
    html = render(folder, tmp_path / "mini.html")
    assert evil not in html.read_text(encoding="utf-8")
    p = Page(browser, html)
    assert p.page.evaluate("window.pwned") is None
    cell = p.page.locator('#unit-table tbody tr.u[data-unit="M02"] td').nth(1)
    assert cell.text_content() == evil
    assert p.page.locator("img").count() == 0
    p.close()


@pytest.fixture(scope="module")
def big_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    ds = synth.generate(BIG_UNITS, seed=5005)
    synth.write(ds, folder / "data")
    return render(folder / "data", folder / "big.html")


def test_five_thousand_units_filter_sort_and_scroll(
    browser, big_html: Path, artifacts: Path
) -> None:
    data = page_data(big_html)
    units = data["units"]
    assert len(units) == BIG_UNITS
    p = Page(browser, big_html)
    page = p.page
    # Only the rows near the scrolled window are in the document.
    assert len(p.rows()) < 200
    some = units[1234]
    queries = [some["i"], some["n"][:2], "U0", "镇", "不存在的单位", ""]
    for q in queries:
        _, n, _ = p.filter_ms(q)
        assert n == sum(contains(u, q) for u in units), q
    p.filter_ms(some["i"])
    assert some["i"] in p.rows()
    p.filter_ms("")
    page.select_option("#grade-filter", "C")
    assert page.evaluate("window.sandingReport.matched()") == data["meta"]["by_grade"].get("C", 0)
    page.select_option("#grade-filter", "")
    # Sorting 5,000 rows, then scrolling: the window follows.
    page.locator('#unit-table th[data-key="name"] button').click()
    page.evaluate("document.querySelector('.tablewrap').scrollTop = 60000")
    page.wait_for_function(
        "() => document.querySelector('#unit-table tbody tr.u') && "
        "document.querySelector('.tablewrap').scrollTop > 0"
    )
    page.wait_for_timeout(100)
    visible = p.rows()
    assert visible and units[0]["i"] not in visible[:1]
    page.locator("#units").scroll_into_view_if_needed()
    p.screenshot(artifacts, "big-table.png")
    p.close()


def test_baseline_and_waivers_shown(browser, tmp_path: Path, artifacts: Path) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    base = tmp_path / "baseline.json"
    res = CliRunner().invoke(main, ["baseline", str(folder), "--as-of", AS_OF, "-o", str(base)])
    assert res.exit_code == 0, res.stderr
    with open(folder / "roster.csv", "a", encoding="utf-8") as fh:
        fh.write("P0999X,M03,institution,测试人员,330121197005020139,M,1970-05-02,none,,医师,")
        fh.write("professional,on_post,,\n")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "- {rule: P06, unit_id: M03, subject: P0999X, reason: 待核对, approver: 王五, "
        "doc_no: 双编办〔2026〕12号, expires: 2026-12-31}\n"
        "- {rule: Q01, unit_id: M09, subject: admin, reason: 过渡期, approver: 王五, "
        "doc_no: 双编办〔2026〕13号, expires: 2026-01-31}\n",
        encoding="utf-8",
    )
    html = render(folder, tmp_path / "ci.html", "--baseline", str(base), "--waivers", str(waivers))
    data = page_data(html)
    p = Page(browser, html)
    page = p.page
    ci = page.locator("#ci")
    assert "已过期的豁免" in ci.text_content() and "双编办〔2026〕13号" in ci.text_content()
    assert f"已豁免 {data['meta']['waived']}" in ci.text_content()
    page.select_option("#status-filter", "waived")
    assert page.evaluate("window.sandingReport.matchedUnits()") == ["M03"]
    page.locator('#unit-table tbody tr.u[data-unit="M03"]').click()
    card = page.locator('dialog#detail .finding:has-text("P06")')
    assert card.locator(".tag.waived").text_content() == "已豁免"
    assert "双编办〔2026〕12号" in card.text_content()
    assert page.locator("dialog#detail .tag.known").count() >= 1
    p.screenshot(artifacts, "ci-detail.png")
    p.close()
