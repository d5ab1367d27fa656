"""The README's Python snippets run on their own: each in a fresh interpreter, in an empty
directory, with nothing but what it imports; a comment `# NAME == VALUE` in one is checked."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(),
                      re.MULTILINE | re.DOTALL)
CLAIM = re.compile(r"#\s*([\w.]+) == (\S.*)$", re.MULTILINE)  # x.grad == [3, 12]


def with_claims_checked(code):
    """The snippet followed by an assertion for each `# NAME == VALUE` comment in it."""
    checks = [f"assert __import__('numpy').allclose({name}, {value}), ({name!r}, {name})"
              for name, value in CLAIM.findall(code)]
    return "\n".join([code, *checks])


def test_a_claim_in_a_comment_is_checked():
    code = "x = [1.0, 2.0]  # x == [1, 3]"
    with pytest.raises(AssertionError):
        exec(with_claims_checked(code), {})
    exec(with_claims_checked(code.replace("3]", "2]")), {})


def test_the_readme_has_python_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("code", SNIPPETS, ids=[s.splitlines()[-1][:40] for s in SNIPPETS])
def test_readme_snippet_runs_alone(code, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", with_claims_checked(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
