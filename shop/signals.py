"""Signals other apps listen to, so that shop never imports them."""

from django.dispatch import Signal

# Sent inside the transaction that merges an anonymous visitor's customer into a signed-in
# user's own customer, before the visitor's row is deleted: kwargs ``source`` (the visitor's
# Customer, about to go) and ``target`` (the user's Customer). Rows that point at the source
# and must survive are moved by their owners' receivers.
customer_merged = Signal()
