"""The course on a real JupyterHub, driven as people drive it (issue 9).

The hub is stood up by the same code as `make hub` (deploy/hub.py), with a unique prefix and free
ports, and always taken down, once per exchange: the shared folder and the ngshare service (no
shared disk). One instructor and three students, each a Linux account:

* each student logs in through the login form, starts a server, fetches ps01 from the Assignment
  List, saves an edited notebook (one correct function / one wrong / blank), runs `check(...)`
  in a real kernel and submits;
* the instructor, as their own Unix user in a lab terminal, collects, autogrades, returns
  feedback and exports with `lossgrade`; the exported scores are exactly the expected ones and
  each student's feedback shows their score and no hidden test code;
* nobody reads anyone else's files, students get no formgrader, nobody submits as someone else
  (the folder exchange lets a student try and collect refuses it; ngshare refuses
  `--student`, and a forged request counts as the sender's own submission);
* with ngshare, an assignment `lossgrade release` puts out is really fetchable by a student;
* headless Chromium shows ps01 in a student's Assignment List and formgrader in the
  instructor's lab (screenshots in artifacts/hub/);
* after `down`, no account, process or file of the run is left.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import re
import subprocess
import uuid
from pathlib import Path

import nbformat
import pytest

from deploy.hub import Hub, free_port
from tests.adversarial import WRONG_MSE, filled, replace
from tests.hubclient import HubUser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "hub"
PS = "ps01_regression"
PS2 = "ps02_cross_entropy"
NB = f"{PS}/{PS}.ipynb"
COURSE_ID = "loss-functions"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub creates Linux accounts: needs root"),
]


@pytest.fixture(scope="module", params=["folder", "ngshare"])
def hub(request):
    if not (ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        subprocess.run(["npm", "ci", "--prefix", "deploy", "--no-audit", "--no-fund"],
                       cwd=ROOT, check=True, capture_output=True)
    the_hub = Hub(prefix=f"lft{uuid.uuid4().hex[:5]}", students=3, port=free_port(),
                  exchange_kind=request.param)
    try:
        the_hub.up()
        yield the_hub
    finally:
        the_hub.down()
        left = [n for n in the_hub.accounts if _account(n)]
        assert not left, f"accounts left behind: {left}"
        assert not the_hub.base.exists()
        procs = subprocess.run(["pgrep", "-f", str(the_hub.base)], capture_output=True, text=True)
        assert not procs.stdout.strip(), f"processes left behind: {procs.stdout}"


def _account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def person(hub, name: str) -> HubUser:
    user = HubUser(hub.url, name, hub.password)
    assert user.login().status_code == 200
    user.start()
    return user


def _edited(kind: str) -> dict:
    """The student's notebook: mse correct (the others as released), mse wrong, or blank."""
    nb = nbformat.read(ROOT / "course" / "release" / PS / f"{PS}.ipynb", as_version=4)
    if kind != "blank":
        solved = filled()
        source = next(c.source for c in solved.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == "mse")
        replace(nb, "mse", source if kind == "correct" else WRONG_MSE)
    return json.loads(nbformat.writes(nb))


CHECK = """
import json, os
import numpy as np
os.chdir(os.path.expanduser("~/ps01_regression"))
nb = json.load(open("ps01_regression.ipynb"))
code = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mse"]
exec("".join(code[0]["source"]))
from autograder import check
check("ps01.mse", mse)
"""


FORGE = """
import base64, json, os, requests
url = os.environ["LOSSGRADE_NGSHARE_URL"]
auth = {{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}
nb = open(os.path.expanduser("~/{ps}/{ps}.ipynb"), "rb").read()
files = json.dumps([{{"path": "{ps}.ipynb", "content": base64.b64encode(nb).decode()}}])
sent = requests.post(f"{{url}}/submission/{course}/{ps}", data={{"user": "{other}", "files": files}},
                     headers=auth)
me = os.environ["JUPYTERHUB_USER"]
mine = requests.get(f"{{url}}/submissions/{course}/{ps}/{{me}}", headers=auth).json()
theirs = requests.get(f"{{url}}/submissions/{course}/{ps}/{other}", headers=auth)
print(json.dumps([sent.status_code, sent.json()["success"],
                  [s["student_id"] for s in mine["submissions"]], theirs.status_code]))
"""


def test_the_term_runs_on_the_hub(hub, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ngshare = hub.exchange_kind == "ngshare"
    s1, s2, s3 = (person(hub, n) for n in hub.student_names)
    teacher = person(hub, hub.instructor)
    kinds = {s1.name: "correct", s2.name: "wrong", s3.name: "blank"}

    # students: the Assignment List offers ps01; fetch, edit, check in a kernel, submit
    for student in (s1, s2, s3):
        listed = student.api("GET", "assignments", params={"course_id": COURSE_ID}).json()
        assert [a["assignment_id"] for a in listed["value"]] == [PS], listed
        form = {"course_id": COURSE_ID, "assignment_id": PS}
        assert student.api("POST", "assignments/fetch", data=form).json()["success"]
        saved = student.api("PUT", f"api/contents/{NB}",
                            json={"type": "notebook", "format": "json",
                                  "content": _edited(kinds[student.name])})
        assert saved.status_code == 200, saved.text
        printed = student.execute(CHECK)
        if kinds[student.name] == "correct":
            assert "\u2713 ps01.mse [basic]" in printed and "\u2717" not in printed, printed
        else:
            assert "\u2717 ps01.mse [basic]" in printed, printed
        if ngshare and student is s3:
            # before her real submission, she asks ngshare herself to take her notebook as a
            # classmate's: it is her own submission (ngshare knows her by her hub token), and
            # she may not see the classmate's submissions
            answer = json.loads(s3.execute(FORGE.format(course=COURSE_ID, ps=PS, other=s1.name)))
            assert answer == [200, True, [s3.name], 403], answer
        assert student.api("POST", "assignments/submit", data=form).json()["success"]

    # nobody reads another's work or the course, from a kernel or a terminal
    teacher_home = pwd.getpwnam(hub.instructor).pw_dir
    private = [f"/home/{s1.name}/{NB}", f"{teacher_home}/course/source/{PS}/{PS}.ipynb"]
    if ngshare:  # ngshare's database and files are its own account's
        private.append(f"{hub.ngshare_data}/ngshare.db")
    for path in private:
        probe = f"try:\n    open({path!r}).read()\n    print('read')\nexcept OSError as e:\n    print(type(e).__name__)"
        assert s2.execute(probe).strip() == "PermissionError"
    out, code = s3.terminal(f"cat /home/{s1.name}/{NB}")
    assert code != 0 and "Permission denied" in out
    # students have no formgrader
    assert s1.api("GET", "formgrader/api/status").status_code == 404
    assert teacher.api("GET", "formgrader/api/status").status_code == 200

    # no lab asks the internet for news, updates or extensions
    for user in (s1, teacher):
        page = user.api("GET", "lab").text
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])
        assert config["news"] == {"disabled": True}
        assert config["extensionManager"]["name"] == "read-only"
        assert user.api("GET", "lab/api/news").json() == {"news": []}

    if ngshare:
        # a student submits as a classmate: ngshare-exchange refuses --student (and her own
        # forged request above counted as hers)
        out, code = s3.terminal(f"nbgrader submit {PS} --course {COURSE_ID} --student {s1.name}")
        assert code != 0, out[-2000:]
        assert "Submitting assignments with an explicit student ID is not possible" in out
    else:
        # a student submits as a classmate: nbgrader lets her, collect refuses it
        out, code = s3.terminal(f"nbgrader submit {PS} --course {COURSE_ID} --student {s1.name}")
        assert code == 0 and f"inbound/{s1.name}+{PS}+" in out, out[-2000:]

    # the instructor's term, in the instructor's own terminal, as the instructor's account
    for step in (f"collect {PS}", f"autograde {PS}", f"feedback {PS}", "export --to ~/grades.csv"):
        out, code = teacher.terminal(f"lossgrade {step} --course ~/course")
        assert code == 0, f"lossgrade {step}:\n{out[-3000:]}"
    collected = teacher.api("GET", f"api/contents/course/lossgrade/{PS}/collect.csv").json()
    rows = list(csv.DictReader(io.StringIO(collected["content"])))
    if ngshare:
        assert sorted((r["student"], r["status"], r["notes"]) for r in rows) == [
            (s.name, "collected", "") for s in (s1, s2, s3)
        ], rows
        assert all(r["source"].startswith(f"ngshare:{r['student']}+{PS}+") for r in rows), rows
    else:
        assert sorted(r["status"] for r in rows if r["student"] == s1.name) == [
            "collected", "rejected"
        ]
        forged = next(r for r in rows if r["student"] == s1.name and r["status"] == "rejected")
        assert s3.name in forged["notes"], forged

    grades = teacher.api("GET", "api/contents/grades.csv").json()["content"]
    scores = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(io.StringIO(grades))
              if r["assignment"] == PS}
    source = nbformat.read(ROOT / "course" / "source" / PS / f"{PS}.ipynb", as_version=4)
    mse_points = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("mse_"))
    assert scores == {s1.name: mse_points, s2.name: 0.0, s3.name: 0.0}

    # feedback: each student fetches theirs; it shows their score and no hidden test code
    for student in (s1, s2, s3):
        form = {"course_id": COURSE_ID, "assignment_id": PS}
        assert student.api("POST", "assignments/fetch_feedback", data=form).json()["success"]
        folder = student.api("GET", f"api/contents/{PS}/feedback").json()["content"]
        (stamp,) = [f["name"] for f in folder]
        html = student.api("GET", f"api/contents/{PS}/feedback/{stamp}/{PS}.html").json()
        shown = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", html["content"])
        assert float(shown[1]) == scores[student.name], student.name
        assert "BEGIN HIDDEN TESTS" not in html["content"]

    if ngshare:
        # what `lossgrade release` puts out is really in ngshare: a student fetches it, byte
        # for byte (ngshare under SQLAlchemy 2 would report success and keep nothing)
        out, code = teacher.terminal(f"lossgrade release {PS2} --course ~/course")
        assert code == 0 and f"{PS2}: ngshare holds the release" in out, out[-3000:]
        listed = s2.api("GET", "assignments", params={"course_id": COURSE_ID}).json()["value"]
        assert {a["assignment_id"]: a["status"] for a in listed}[PS2] == "released", listed
        form = {"course_id": COURSE_ID, "assignment_id": PS2}
        assert s2.api("POST", "assignments/fetch", data=form).json()["success"]
        fetched = s2.api("GET", f"api/contents/{PS2}/{PS2}.ipynb", params={"format": "text",
                         "type": "file"}).json()["content"]
        released = teacher.api("GET", f"api/contents/course/release/{PS2}/{PS2}.ipynb",
                               params={"format": "text", "type": "file"}).json()["content"]
        assert fetched == released

    # in the browser: each student's Assignment List and the instructor's formgrader
    suffix = "-ngshare" if ngshare else ""
    for i, student in enumerate((s1, s2, s3), start=1):
        _browser_login(browser, hub, student.name)
        browser.get(f"{student.base}/lab")
        assert _open_menu_item(browser, "Nbgrader", "Assignment List") == ["Assignment List"]
        _wait(browser, lambda d: PS in d.find_element("tag name", "body").text, 90)
        browser.save_screenshot(str(SHOTS / f"student{i}-assignment-list{suffix}.png"))
    _browser_login(browser, hub, hub.instructor)
    browser.get(f"{teacher.base}/lab")
    tools = _open_menu_item(browser, "Nbgrader", "Formgrader")
    assert {"Formgrader", "Create assignment", "Assignment List"} <= set(tools)
    frame = _wait(browser, lambda d: d.find_elements("css selector", "iframe[src*='formgrader']"), 90)[0]
    browser.switch_to.frame(frame)
    _wait(browser, lambda d: PS in d.find_element("tag name", "body").text, 90)
    browser.switch_to.default_content()
    browser.save_screenshot(str(SHOTS / f"instructor-formgrader{suffix}.png"))


def _wait(driver, predicate, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: predicate(d))


def _browser_login(driver, hub, name: str) -> None:
    driver.get(f"{hub.url}/hub/logout")  # whoever was logged in before
    driver.delete_all_cookies()
    driver.get(f"{hub.url}/hub/login")
    driver.find_element("id", "username_input").send_keys(name)
    driver.find_element("id", "password_input").send_keys(hub.password)
    driver.find_element("id", "login_submit").click()
    _wait(driver, lambda d: "/hub/login" not in d.current_url, 60)


def _open_menu_item(driver, menu: str, item: str) -> list[str]:
    """Click ``menu`` in JupyterLab's menu bar, then ``item``; the menu's items."""

    def find(d, text, css):
        return [e for e in d.find_elements("css selector", css) if e.text.strip() == text]

    _wait(driver, lambda d: find(d, menu, ".lm-MenuBar-itemLabel"), 90)[0].click()
    entry = _wait(driver, lambda d: find(d, item, ".lm-Menu-itemLabel"), 30)[0]
    items = [e.text for e in driver.find_elements("css selector", ".lm-Menu-itemLabel") if e.text]
    entry.click()
    return items
