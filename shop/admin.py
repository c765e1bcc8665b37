from django.contrib import admin
from django.db.models import Count

from shop.models import Category, Customer, Interaction, Order, OrderLine, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "product_count"]
    search_fields = ["name", "slug"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").annotate(product_total=Count("products"))

    @admin.display(description="Products", ordering="product_total")
    def product_count(self, obj) -> int:
        return obj.product_total


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock_state"

    def lookups(self, request, model_admin):
        return [("in", "In stock"), ("out", "Out of stock"), ("untracked", "Not tracked")]

    def queryset(self, request, queryset):
        if self.value() == "in":
            return queryset.in_stock()
        if self.value() == "out":
            return queryset.out_of_stock()
        if self.value() == "untracked":
            return queryset.filter(stock__isnull=True)
        return queryset


class VariantFilter(admin.SimpleListFilter):
    """Products that are variants of another (an item group) or stand alone; search finds one group's variants."""

    title = "variants"
    parameter_name = "variant"

    def lookups(self, request, model_admin):
        return [("grouped", "In an item group"), ("single", "No item group")]

    def queryset(self, request, queryset):
        if self.value() == "grouped":
            return queryset.exclude(item_group_id="")
        if self.value() == "single":
            return queryset.filter(item_group_id="")
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["product_id", "title", "category", "item_group_id", "price", "currency", "stock", "is_active", "updated_at"]
    list_display_links = ["product_id", "title"]
    list_editable = ["price", "stock", "is_active"]
    list_filter = ["is_active", StockFilter, VariantFilter, "category", "currency"]
    search_fields = ["product_id", "title", "description", "=item_group_id"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50
    actions = ["deactivate", "activate"]
    fieldsets = [
        (None, {"fields": ["product_id", "title", "category", "description", "image_url", "item_group_id"]}),
        ("Price and stock", {"fields": ["price", "currency", "stock", "is_active"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.action(description="Deactivate the selected products (hide, never recommend)", permissions=["change"])
    def deactivate(self, request, queryset):
        updated = queryset.update(is_active=False)
        self.message_user(request, f"{updated} products deactivated.")

    @admin.action(description="Activate the selected products", permissions=["change"])
    def activate(self, request, queryset):
        updated = queryset.update(is_active=True)
        self.message_user(request, f"{updated} products activated.")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "user", "created_at", "interaction_count"]
    search_fields = ["customer_id", "user__username", "user__email"]
    list_filter = [("user", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(interaction_total=Count("interactions"))

    @admin.display(description="Interactions", ordering="interaction_total")
    def interaction_count(self, obj) -> int:
        return obj.interaction_total


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """Read-only: behaviour data is evidence for training and experiments, never edited by hand."""

    list_display = ["timestamp", "customer", "kind", "product", "quantity", "placement", "event_id"]
    list_filter = ["kind", "timestamp"]
    search_fields = ["customer__customer_id", "product__product_id", "product__title", "event_id"]
    date_hierarchy = "timestamp"
    list_select_related = ["customer", "product"]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Placement")
    def placement(self, obj) -> str:
        return (obj.context or {}).get("placement", "")


class OrderLineInline(admin.TabularInline):
    """An order's lines, as bought: never edited after the fact."""

    model = OrderLine
    fields = ["product", "quantity", "unit_price", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Line total")
    def line_total(self, obj) -> str:
        return f"{obj.line_total:.2f}"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: an order is a record of a sale, placed through checkout."""

    list_display = ["number", "customer", "created_at", "total", "currency", "line_count"]
    search_fields = ["number", "customer__customer_id", "lines__product__product_id"]
    list_filter = ["created_at", "currency"]
    date_hierarchy = "created_at"
    list_select_related = ["customer"]
    readonly_fields = ["number", "customer", "created_at", "total", "currency"]
    inlines = [OrderLineInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_total_count=Count("lines"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Lines", ordering="line_total_count")
    def line_count(self, obj) -> int:
        return obj.line_total_count
