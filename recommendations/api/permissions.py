"""Who may ask for whose personal list (rule 2): visitors their own, API-token clients and staff anyone's."""

from rest_framework.request import Request

from core.api_errors import ApiError
from recommendations.store import CustomerRef
from shop.api.authentication import caller_may_name_customers
from shop.models import Customer

NOT_ALLOWED_MESSAGE = "Only API-token clients and staff may ask for another customer's list."


def personal_list_customer(*, request: Request, customer_id: str | None, parameter: str = "customer_id") -> CustomerRef:
    """Return whose personal list this request reads; ApiError 403 (`customer_id_not_allowed`) for another's.

    Without ``customer_id``: the caller's own list (signed-in user, else the visitor cookie).
    Naming one's own visitor id, or a customer linked to one's own user, is the same.
    ``parameter``: how the caller named the customer, for the error (the Flask paths say user_id).
    """
    user = request.user
    signed_in = bool(user and user.is_authenticated)
    # A visitor id minted by this very request has no history: nothing to look up, no activity token to read.
    visitor_id = None if getattr(request, "visitor_is_new", False) else getattr(request, "visitor_id", None)
    own = CustomerRef(user_id=user.pk if signed_in else None, visitor_id=visitor_id)
    if not customer_id:
        return own
    if caller_may_name_customers(request):
        return CustomerRef(customer_id=customer_id)
    if customer_id == own.visitor_id:
        return own
    if signed_in and Customer.objects.filter(customer_id=customer_id, user=user).exists():
        return own
    raise ApiError(
        f"{parameter}: {NOT_ALLOWED_MESSAGE}",
        code="customer_id_not_allowed",
        fields={parameter: [NOT_ALLOWED_MESSAGE]},
        status_code=403,
    )
