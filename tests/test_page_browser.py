"""The pages in a real browser: Debian's headless Chromium driven by
Selenium. Each page is made by the real entry point (``python -m cgrad``),
loaded as a file:// URL, stepped through with its buttons and the keyboard,
and every number it shows is read back and compared with ``cgrad eval
--json``'s. The browser's log must hold no error.

Where Chromium, its driver or Selenium is missing (a laptop) these skip;
``.ci/run`` installs them. ``CGRAD_WRITE_SCREENSHOT=1`` also writes the
screenshot of the seed's page that the docs show (docs/page.png).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_page import SEED, SHARED, chain

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[1] / "docs"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "headless Chromium is not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
).split()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1100,820")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def cgrad(*arguments: str) -> str:
    """Run the real entry point; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def load(browser, page: Path) -> None:
    browser.get(page.as_uri())
    browser.find_element(By.CSS_SELECTOR, "svg.cgrad-graph")
    assert errors(browser) == []


def errors(browser) -> list:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


SHOWN = """
const of = (selector, name) => Array.from(document.querySelectorAll(selector)).map(
  (e) => [Number(e.closest("[data-node]") ? e.closest("[data-node]").dataset.node
                                          : e.dataset.edge), e.getAttribute(name),
          e.textContent]);
const counter = document.getElementById("counter");
return {
  values: of("tspan.value[data-value]", "data-value"),
  grads: of("tspan.grad[data-grad]", "data-grad"),
  locals: of("text.edge-label[data-local]", "data-local"),
  products: of("text.edge-label[data-product]", "data-product"),
  step: Number(counter.dataset.step),
  caption: document.getElementById("caption").textContent,
};
"""


def shown(browser) -> dict:
    """What the page shows now: per node its value and gradient (the whole
    number in data-, the short one as text), per edge its local derivative
    and product, the step and the caption."""
    return browser.execute_script(SHOWN)


def same(text: str, number) -> bool:
    """A number the page shows is the number of eval --json (a float, or
    NaN/Infinity/-Infinity as a string)."""
    expected = float(number)
    return float(text) == expected or (math.isnan(float(text)) and math.isnan(expected))


def short(number) -> str:
    return f"{float(number) + 0.0:.6g}" if math.isfinite(float(number)) else str(number)


def evaluation(program: str, values: list[str]) -> dict:
    return json.loads(cgrad("eval", program, *values, "--json", "--graph", "--steps"))


def press(browser, key) -> None:
    browser.find_element(By.TAG_NAME, "body").send_keys(key)


def step_through(browser, truth: dict, by_keyboard: bool) -> None:
    """Walk both passes one step at a time, checking each number as it
    appears against ``truth`` (eval --json --graph --steps)."""
    nodes = truth["graph"]["nodes"]
    forward, backward = truth["steps"]["forward"], truth["steps"]["backward"]

    def advance():
        if by_keyboard:
            press(browser, Keys.ARROW_RIGHT)
        else:
            browser.find_element(By.ID, "next").click()

    for count, step in enumerate(forward, 1):
        advance()
        now = shown(browser)
        assert now["step"] == count
        values = {node: (full, text) for node, full, text in now["values"]}
        assert len(values) == count
        full, text = values[step["node"]]
        assert same(full, step["value"]) and same(full, nodes[step["node"]]["value"])
        assert text == "= " + short(step["value"])
    for count, step in enumerate(backward, len(forward) + 1):
        advance()
        now = shown(browser)
        assert now["step"] == count
        grads = {node: (full, text) for node, full, text in now["grads"]}
        full, text = grads[step["node"]]
        assert same(full, step["gradient"]) and same(full, nodes[step["node"]]["grad"])
        assert text == "grad " + short(step["gradient"])
        if len(step["terms"]) > 1:
            assert f"gradients from {len(step['terms'])} edges add up" in now["caption"]
    # Every edge carries its local derivative and the product it sent.
    edges = [(i, n["id"]) for n in nodes for i in n["inputs"]]
    locals_ = {edge: full for edge, full, _ in shown(browser)["locals"]}
    products = {edge: full for edge, full, _ in shown(browser)["products"]}
    numbered = {}
    for index, (_, consumer) in enumerate(edges):
        numbered.setdefault(consumer, []).append(index)
    for step in backward:
        for sent in step["edges"]:
            index = numbered[step["node"]][sent["argument"]]
            assert same(locals_[index], sent["local"])
            assert same(products[index], sent["product"])
    assert len(locals_) == sum(len(step["edges"]) for step in backward)


@pytest.mark.parametrize(
    ("program", "values", "by_keyboard"),
    [(SEED, ["x=1", "y=2", "z=3"], False), (SHARED, ["x=0.5", "y=2"], True)],
)
def test_stepping_shows_the_numbers_of_eval_json(browser, tmp_path, program, values, by_keyboard):
    page = tmp_path / "page.html"
    cgrad("graph", program, *values, "--format", "html", "-o", str(page))
    truth = evaluation(program, values)
    load(browser, page)
    nodes = truth["graph"]["nodes"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "g.node[data-node]")) == len(nodes)
    edges = sum(len(node["inputs"]) for node in nodes)
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.edge[data-edge]")) == edges
    assert shown(browser)["values"] == []
    step_through(browser, truth, by_keyboard)
    total = shown(browser)["step"]
    assert browser.find_element(By.ID, "next").get_attribute("disabled") is not None
    # Back one step: the last gradient disappears; Home: nothing is shown.
    press(browser, Keys.ARROW_LEFT)
    assert shown(browser)["step"] == total - 1
    assert len(shown(browser)["grads"]) == len(nodes) - 1
    browser.find_element(By.ID, "first").click()
    assert shown(browser)["values"] == [] and shown(browser)["locals"] == []
    assert errors(browser) == []
    if program == SEED and os.environ.get("CGRAD_WRITE_SCREENSHOT") == "1":
        for _ in range(len(nodes) + 3):  # into the backward pass, past the sum at @2
            press(browser, Keys.ARROW_RIGHT)
        browser.set_window_size(900, 700)
        browser.save_screenshot(str(DOCS / "page.png"))
        browser.set_window_size(1100, 820)


def test_play_runs_the_steps_and_pauses(browser, tmp_path):
    page = tmp_path / "page.html"
    cgrad("eval", SEED, "x=1", "y=2", "z=3", "--html", str(page))
    load(browser, page)
    play = browser.find_element(By.ID, "play")
    play.click()
    WebDriverWait(browser, 10).until(lambda b: shown(b)["step"] >= 2)
    play.click()  # pause
    paused = shown(browser)["step"]
    assert play.text == "▶ play"
    # Paused: one more step only by hand.
    browser.find_element(By.ID, "next").click()
    assert shown(browser)["step"] == paused + 1


def test_a_300_node_page_shows_every_number(browser, tmp_path):
    program, values = chain(98), ["x=0.5", "y=0.25", "z=0.5"]
    page = tmp_path / "page.html"
    cgrad("graph", program, *values, "--format", "html", "-o", str(page))
    truth = evaluation(program, values)
    nodes = truth["graph"]["nodes"]
    assert len(nodes) == 300
    load(browser, page)
    assert len(browser.find_elements(By.CSS_SELECTOR, "g.node[data-node]")) == 300
    edges = sum(len(node["inputs"]) for node in nodes)
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.edge[data-edge]")) == edges
    for _ in range(3):
        browser.find_element(By.ID, "next").click()
    assert [node for node, _, _ in shown(browser)["values"]] == [0, 1, 2]
    press(browser, Keys.END)
    now = shown(browser)
    assert now["step"] == len(truth["steps"]["forward"]) + len(truth["steps"]["backward"])
    for node, full, _ in now["values"]:
        assert same(full, nodes[node]["value"])
    for node, full, _ in now["grads"]:
        assert same(full, nodes[node]["grad"])
    assert len(now["values"]) == len(now["grads"]) == 300
    assert errors(browser) == []


def test_paths_to_an_input_are_highlighted(browser, tmp_path):
    page = tmp_path / "page.html"
    cgrad("graph", SHARED, "x=0.5", "y=2", "--format", "html", "-o", str(page))
    truth = evaluation(SHARED, ["x=0.5", "y=2"])
    load(browser, page)
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "paths")).select_by_value("x")
    on_path = [
        (int(e.get_attribute("data-from")), int(e.get_attribute("data-to")))
        for e in browser.find_elements(By.CSS_SELECTOR, "path.edge.on-path")
    ]
    # The edges on some path from the output down to x: those whose operand depends on x.
    depends = {0}
    for node in truth["graph"]["nodes"]:
        if any(i in depends for i in node["inputs"]):
            depends.add(node["id"])
    expected = [
        (i, node["id"]) for node in truth["graph"]["nodes"] for i in node["inputs"] if i in depends
    ]
    assert sorted(on_path) == sorted(expected)
    # a's edge up to the sum goes by its trunk (round sin(a)'s box): lit too.
    trunks = browser.find_elements(By.CSS_SELECTOR, "path.trunk.on-path")
    assert [t.get_attribute("data-from") for t in trunks] == ["2"]
    panel = browser.find_element(By.ID, "paths-panel").text
    assert panel.startswith("2 paths from the output to x")
    assert panel.splitlines()[0].endswith(f"∂f/∂x = {short(truth['gradient']['x'])}")
    Select(browser.find_element(By.ID, "paths")).select_by_value("")
    assert browser.find_elements(By.CSS_SELECTOR, ".on-path") == []


def test_warnings_are_those_of_the_text_output(browser, tmp_path):
    program, values = "abs(x) + log(y)", ["x=0", "y=-1"]
    page = tmp_path / "page.html"
    cgrad("eval", program, *values, "--html", str(page))
    truth = json.loads(cgrad("eval", program, *values, "--json"))
    load(browser, page)
    shown_warnings = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "p.warning")]
    assert shown_warnings == [f"warning: {w['message']}" for w in truth["warnings"]]
    warned = browser.find_elements(By.CSS_SELECTOR, "g.node.warned")
    assert sorted(int(g.get_attribute("data-node")) for g in warned) == sorted(
        w["node"] for w in truth["warnings"]
    )
    press(browser, Keys.END)
    nan = browser.find_elements(By.CSS_SELECTOR, "g.node.nonfinite")
    assert {int(g.get_attribute("data-node")) for g in nan} >= {3}  # log(-1) and the sum
    assert errors(browser) == []


def test_minimize_page_has_the_loss_curve_and_the_contour_path(browser, tmp_path):
    page = tmp_path / "descent.html"
    summary = json.loads(
        cgrad("minimize", "(x-3)^2 + 2*(y+1)^2", "x=0", "y=0", "--json", "--html", str(page))
    )
    browser.get(page.as_uri())
    curve = browser.find_element(By.CSS_SELECTOR, "polyline.loss-curve")
    assert int(curve.get_attribute("data-points")) == summary["steps"] + 1
    assert curve.size["width"] > 100
    assert len(browser.find_elements(By.CSS_SELECTOR, "#contours path.contour")) >= 8
    walked = browser.find_element(By.CSS_SELECTOR, "#contours polyline.descent-path")
    assert int(walked.get_attribute("data-points")) == summary["steps"] + 1
    data = json.loads(browser.find_element(By.ID, "cgrad-data").get_attribute("textContent"))
    assert [float(v) for v in data["path"][-1]] == [summary["point"]["x"], summary["point"]["y"]]
    assert errors(browser) == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["--lr", "0.1", "-x^2", "x=1"],
        ["--lr", "0.5", "-x^2 - 1e300", "x=1"],
    ],
    ids=["to -inf", "from near the largest float"],
)
def test_a_diverged_run_still_draws_its_loss_curve(browser, tmp_path, arguments):
    # Losses near the largest float made points of -inf, which Chromium
    # rejects: the curve was empty.
    page = tmp_path / "descent.html"
    done = subprocess.run(
        [sys.executable, "-m", "cgrad", "minimize", "--method", "gd", *arguments[:-2], "--json",
         "--html", str(page), "--", *arguments[-2:]],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["stopped"] == "diverged"
    browser.get(page.as_uri())
    curve = browser.find_element(By.CSS_SELECTOR, "polyline.loss-curve")
    drawn = browser.execute_script("return arguments[0].points.numberOfItems", curve)
    assert drawn == int(curve.get_attribute("data-points")) == summary["steps"] + 1
    assert curve.size["height"] > 100  # the curve falls down the plot
    note = browser.find_element(By.ID, "loss-end").text
    assert note.startswith("The curve ends at the last finite step: the run diverged at step ")
    assert errors(browser) == []


MUTATIONS_OF_A_PRESS = """
const observer = new MutationObserver(() => {});
observer.observe(document.querySelector("svg.cgrad-graph"),
  { subtree: true, attributes: true, childList: true, characterData: true });
document.getElementById(arguments[0]).click();
const count = observer.takeRecords().length;
observer.disconnect();
return count;
"""


def test_a_step_changes_only_what_it_shows_and_undoes_exactly(browser, tmp_path):
    # Each press applies or undoes one step: the drawing changes as much on
    # the last step of a 300-node page as on the second, and going back
    # restores exactly what was shown before.
    program, values = chain(98), ["x=0.5", "y=0.25", "z=0.5"]
    page = tmp_path / "page.html"
    cgrad("graph", program, *values, "--format", "html", "-o", str(page))
    load(browser, page)
    browser.find_element(By.ID, "next").click()
    early = browser.execute_script(MUTATIONS_OF_A_PRESS, "next")
    press(browser, Keys.END)
    browser.find_element(By.ID, "prev").click()
    before_last = shown(browser)
    late = browser.execute_script(MUTATIONS_OF_A_PRESS, "next")
    assert late <= 4 * max(early, 1) and late < 60  # not the 300 nodes' worth
    browser.find_element(By.ID, "prev").click()
    assert shown(browser) == before_last
    press(browser, Keys.HOME)
    press(browser, Keys.END)
    browser.find_element(By.ID, "prev").click()
    assert shown(browser) == before_last
    assert errors(browser) == []


NEAREST_EDGES = """
// Per label with a text: its edge, the edge whose path is nearest its
// rendered box, and the box; distances from points every pixel of each path.
const paths = Array.from(document.querySelectorAll("path.edge")).map((p) => {
  const length = p.getTotalLength();
  const points = [];
  for (let s = 0; s <= length; s += 1) points.push(p.getPointAtLength(s));
  return [Number(p.dataset.edge), points];
});
return Array.from(document.querySelectorAll("text.edge-label")).filter((t) => t.textContent)
  .map((t) => {
    const b = t.getBBox();
    let nearest = null, best = Infinity, own = Infinity;
    for (const [edge, points] of paths) {
      for (const p of points) {
        const dx = Math.max(b.x - p.x, 0, p.x - b.x - b.width);
        const dy = Math.max(b.y - p.y, 0, p.y - b.y - b.height);
        const d = Math.hypot(dx, dy);
        if (d < best) { best = d; nearest = edge; }
        if (edge === Number(t.dataset.edge)) own = Math.min(own, d);
      }
    }
    return [Number(t.dataset.edge), nearest, best, own, [b.x, b.y, b.width, b.height]];
  });
"""

NEURON = ["@samples/neuron.cg", "x1=2", "x2=0", "w1=-3", "w2=1", "b=6.8813735870195432"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["x*y", "x=3", "y=-2"],
        [SHARED, "x=0.5", "y=2"],
        ["max(a, b, c, d, g, h)", *(f"{n}={k}" for k, n in enumerate("abcdgh"))],
        NEURON,
    ],
    ids=["x*y", "shared", "max6", "neuron"],
)
def test_each_edge_label_is_drawn_nearest_its_own_edge(browser, tmp_path, arguments):
    # The user's report: x*y's label for x's edge sat beside y's edge.
    page = tmp_path / "page.html"
    cgrad("graph", *arguments, "--format", "html", "-o", str(page))
    load(browser, page)
    press(browser, Keys.END)
    found = browser.execute_script(NEAREST_EDGES)
    edges = len(browser.find_elements(By.CSS_SELECTOR, "path.edge"))
    assert len(found) >= 2 and len(found) <= edges
    assert [(edge, nearest) for edge, nearest, *_ in found] == [(e, e) for e, *_ in found]
    assert all(own < 10 for *_, own, _ in found)  # beside it, not across the drawing
    boxes = [box for *_, box in found]
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1 :]:
            assert not (x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h)
    # Every label within the drawing, none cut off at its edge.
    width = float(browser.find_element(By.CSS_SELECTOR, "svg.cgrad-graph").get_attribute("width"))
    assert all(0 <= x and x + w <= width for x, _, w, _ in boxes)


def _shared_page(browser, tmp_path) -> None:
    page = tmp_path / "page.html"
    cgrad("graph", SHARED, "x=0.5", "y=2", "--format", "html", "-o", str(page))
    load(browser, page)


def test_the_keys_step_after_choosing_paths_to(browser, tmp_path):
    # The user's report: after choosing "paths to", → changed nothing.
    from selenium.webdriver.support.ui import Select

    _shared_page(browser, tmp_path)
    Select(browser.find_element(By.ID, "paths")).select_by_value("x")
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "paths"
    focused.send_keys(Keys.ARROW_RIGHT)
    assert shown(browser)["step"] == 1
    focused.send_keys(Keys.ARROW_RIGHT)
    focused.send_keys(Keys.ARROW_LEFT)
    assert shown(browser)["step"] == 1
    assert Select(browser.find_element(By.ID, "paths")).first_selected_option.text == "x"
    focused.send_keys(Keys.END)
    last = shown(browser)["step"]
    focused.send_keys(Keys.HOME)
    assert last > 1 and shown(browser)["step"] == 0
    assert errors(browser) == []


def test_space_plays_after_a_button_was_clicked(browser, tmp_path):
    # The user's report: after clicking a button (which keeps the focus),
    # space pressed that button again instead of playing.
    _shared_page(browser, tmp_path)
    browser.find_element(By.ID, "next").click()
    assert shown(browser)["step"] == 1
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "next"
    play = browser.find_element(By.ID, "play")
    focused.send_keys(" ")
    assert play.text == "⏸ pause"
    WebDriverWait(browser, 10).until(lambda b: shown(b)["step"] >= 2)
    focused.send_keys(" ")
    assert play.text == "▶ play"
    paused = shown(browser)["step"]
    focused.send_keys(Keys.ARROW_RIGHT)
    assert shown(browser)["step"] == paused + 1
    assert errors(browser) == []
