"""axe-core in the browser tests (issue 17).

axe-core 4.14.1's ``axe.min.js`` is vendored unmodified under tests/vendor/axe-core/ with its
licence: axe-core is MPL-2.0, which allows redistributing the file as it is (its copyright
header kept; its source is the npm package ``axe-core``). Vendored rather than installed: no
Python package is needed, and the tests make no network call. It is evaluated through the
DevTools protocol, which the pages' Content Security Policy does not govern.
"""

import re
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"

# Violations we accept, each with why: (rule id, path pattern).
ACCEPTED: set[tuple[str, str]] = set()


def axe_violations(page):
    """The page's serious and critical axe-core violations: ["rule (impact): targets"]."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text())
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return found


def unaccepted(path, violations):
    return [
        f"{v['id']} ({v['impact']}: {v['help']}): {', '.join(v['targets'])}"
        for v in violations
        if not any(v["id"] == rule and re.search(pattern, path) for rule, pattern in ACCEPTED)
    ]
