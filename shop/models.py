"""Catalog and behaviour: what the store sells, who shops, and what they did."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower

currency_code_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as USD.")


class CatalogQuerySet(models.QuerySet):
    """A queryset whose bulk writes (``update``, ``bulk_create``, so also ``bulk_update``) bump the catalogue version.

    Saves and deletes bump it through signal receivers (``shop.receivers``); bulk writes send no
    signals, and the CSV import, admin actions and checkout's stock decrement all write in bulk.
    """

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        if rows:
            _catalog_changed(using=self.db)
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            _catalog_changed(using=self.db)
        return created


def _catalog_changed(*, using: str) -> None:
    from shop.catalog_cache import catalog_changed  # it imports shop.activity, which imports this module

    catalog_changed(using=using)


class Category(models.Model):
    """A node of the category tree; names are unique among siblings, since real trees repeat them ("Accessories")."""

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_name_unique_in_parent"),
            # NULL parents are distinct in the constraint above, so the top level needs its own.
            models.UniqueConstraint(fields=["name"], condition=Q(parent__isnull=True), name="category_top_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(CatalogQuerySet):
    def active(self):
        return self.filter(is_active=True)

    def in_stock(self):
        return self.filter(Q(stock__isnull=True) | Q(stock__gt=0))

    def out_of_stock(self):
        return self.filter(stock=0)

    def available(self):
        """Products a shopper can buy now: active and in stock."""
        return self.active().in_stock()


class Product(models.Model):
    product_id = models.CharField(
        max_length=64, unique=True, help_text="The store's own id (e.g. P001); the API and CSV files use it."
    )
    title = models.CharField(max_length=255)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    image_url = models.CharField(max_length=500, blank=True)
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units on hand; leave empty when stock is not tracked (always in stock)."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive products are hidden and never recommended.")
    item_group_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="Variants of one product share it (sizes, colours, ages); a recommendation list shows one of them.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0), name="product_stock_non_negative"),
        ]
        indexes = [
            models.Index(fields=["category", "is_active"], name="product_category_active"),
            # Price and title orders (shop.selectors.PRODUCT_ORDERINGS) over active products, in the whole
            # store and in one category: a page is read in index order instead of sorting every match.
            # Newest has the created_at index; popularity is computed per product and cached per page.
            models.Index(fields=["price", "product_id"], condition=Q(is_active=True), name="product_active_price"),
            models.Index(Lower("title"), "product_id", condition=Q(is_active=True), name="product_active_title"),
            models.Index(fields=["category", "price", "product_id"], condition=Q(is_active=True), name="product_cat_active_price"),
            models.Index("category", Lower("title"), "product_id", condition=Q(is_active=True), name="product_cat_active_title"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.title}"

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


def new_visitor_customer_id() -> str:
    return f"v-{uuid.uuid4().hex}"


class Customer(models.Model):
    """A shopper: imported (U001), a signed-in user, or an anonymous visitor from a signed cookie."""

    customer_id = models.CharField(max_length=64, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return self.customer_id

    @property
    def is_anonymous_visitor(self) -> bool:
        return self.user_id is None and self.customer_id.startswith("v-")


class Interaction(models.Model):
    class Kind(models.TextChoices):
        VIEW = "view", "View"
        CLICK = "click", "Click"
        ADD_TO_CART = "add_to_cart", "Add to cart"
        PURCHASE = "purchase", "Purchase"

    # No single-column indexes: the composite indexes below start with these columns.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="interactions", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    timestamp = models.DateTimeField(db_index=True)
    quantity = models.PositiveIntegerField(default=1)
    context = models.JSONField(
        default=dict,
        blank=True,
        help_text="Attribution: request_id, placement, strategy, experiment, variant, position.",
    )
    event_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="Client id; a replayed event is stored once."
    )

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            # A constraint rather than unique=True: PostgreSQL then builds no extra LIKE index.
            models.UniqueConstraint(fields=["event_id"], name="interaction_event_id_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="interaction_quantity_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["view", "click", "add_to_cart", "purchase"]), name="interaction_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-timestamp"], name="interaction_customer_latest"),
            # kind is in the key so a product's weighted events in a window are read from the index alone
            models.Index(fields=["product", "timestamp", "kind"], name="interaction_product_time"),
            models.Index(fields=["kind", "timestamp"], name="interaction_kind_time"),
            # An experiment's clicks (experiments.selectors), without scanning every event's context.
            models.Index(
                KeyTextTransform("experiment", "context"), "customer", "timestamp",
                condition=Q(kind="click"), name="interaction_click_experiment",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.product_id} at {self.timestamp:%Y-%m-%d %H:%M}"


# An Order's idempotency key: what a client may send as checkout's Idempotency-Key header (a UUID fits).
idempotency_key_validator = RegexValidator(
    r"\A[A-Za-z0-9_\-:.]{1,64}\Z", "Use 1 to 64 letters, digits, '_', '-', ':' or '.', such as a UUID."
)


class Order(models.Model):
    """A placed order: what a customer bought, at the prices of the moment, in one currency."""

    number = models.CharField("order number", max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    total = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    idempotency_key = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        validators=[idempotency_key_validator],
        help_text="The checkout's Idempotency-Key header: the same customer sending it again gets this order back.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_non_negative"),
            # Settles concurrent retries of one checkout: only one order per customer and key is ever stored.
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_customer_idempotency_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_latest")]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """One product of an order, with the quantity and the unit price paid."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_unit_price_non_negative"),
            models.UniqueConstraint(fields=["order", "product"], name="order_line_product_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity
