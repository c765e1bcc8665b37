"""The staff explain page's question: whose list, in which placement, and which product to ask about."""

from django import forms

from experiments.models import Placement

MAX_EXPLAINED = 50


class ExplainForm(forms.Form):
    customer_id = forms.CharField(
        label="Customer or visitor id", max_length=64, required=False,
        help_text="Empty: a visitor the store has never seen (the list everyone starts with).",
    )  # fmt: skip
    placement = forms.ChoiceField(choices=Placement.choices, initial=Placement.HOME_FOR_YOU)
    product_id = forms.CharField(
        label="Page's product", max_length=64, required=False,
        help_text="The product page the list is on (needed for similar / also-bought; optional elsewhere).",
    )  # fmt: skip
    asked_product_id = forms.CharField(
        label="Why is / isn't this product shown?", max_length=64, required=False,
    )  # fmt: skip
    k = forms.IntegerField(label="List length", min_value=1, max_value=MAX_EXPLAINED, initial=10)

    def clean(self):
        data = super().clean()
        for name in ("customer_id", "product_id", "asked_product_id"):
            if name in data:
                data[name] = data[name].strip() or None
        return data
