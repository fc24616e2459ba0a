"""The case page's facts are a styled list of terms and values (issue 17)."""

import re
from pathlib import Path

from django.conf import settings
from django.template.loader import get_template


def test_case_facts_are_a_styled_definition_list():
    source = Path(get_template("support/case_detail.html").origin.name).read_text()
    assert re.search(r'<dl class="[^"]*\bfacts\b[^"]*" id="case-facts">', source)
    css = (Path(settings.BASE_DIR) / "static/css/app.css").read_text()
    assert re.search(r"dl\.facts\s*\{[^}]*grid", css)
