import datetime as dt

from django import forms

DEFAULT_DAYS = 7


class ReportRangeForm(forms.Form):
    """The report's dates: only days inside the plan's data history (PRODUCT.md), and the
    date inputs carry the window as ``min``/``max`` so the browser offers nothing else."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, first_day, today, history_label):
        self.first_day, self.today, self.history_label = first_day, today, history_label
        default_start = max(first_day, today - dt.timedelta(days=DEFAULT_DAYS - 1))
        defaults = {"start": default_start.isoformat(), "end": today.isoformat()}
        # An empty query string shows the last week; a partly filled one keeps the defaults.
        data = {**defaults, **{k: v for k, v in (data or {}).items() if k in defaults and v}}
        super().__init__(data)
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update(min=first_day.isoformat(), max=today.isoformat())

    def _inside_history(self, day):
        if day < self.first_day:
            raise forms.ValidationError(
                f"Your plan keeps {self.history_label} of data history: choose a date from "
                f"{self.first_day:%Y-%m-%d} to {self.today:%Y-%m-%d}. Older activity is no longer kept."
            )
        if day > self.today:
            raise forms.ValidationError(f"Choose a date up to today, {self.today:%Y-%m-%d}.")
        return day

    def clean_start(self):
        return self._inside_history(self.cleaned_data["start"])

    def clean_end(self):
        return self._inside_history(self.cleaned_data["end"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned


class ActivityDeleteForm(forms.Form):
    """The days of activity an Admin deletes: any range up to today (older than the data
    history is purged anyway); the POST must tick ``confirm`` after reading the summary."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    confirm = forms.BooleanField(
        required=False, label="I understand that this activity is deleted for good",
    )

    def __init__(self, data=None, *, today, require_confirm=False):
        self.today, self.require_confirm = today, require_confirm
        super().__init__(data)
        if not require_confirm:
            del self.fields["confirm"]  # the summary page asks for it, next to what will go
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update(max=today.isoformat())

    def _not_after_today(self, day):
        if day > self.today:
            raise forms.ValidationError(f"Choose a date up to today, {self.today:%Y-%m-%d}.")
        return day

    def clean_start(self):
        return self._not_after_today(self.cleaned_data["start"])

    def clean_end(self):
        return self._not_after_today(self.cleaned_data["end"])

    def clean_confirm(self):
        if self.require_confirm and not self.cleaned_data.get("confirm"):
            raise forms.ValidationError("Tick the box to confirm: deleted activity cannot be brought back.")
        return self.cleaned_data.get("confirm")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned
