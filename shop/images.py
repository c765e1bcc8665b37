"""Product images drawn locally as SVG: the category's colour, an icon for the product type, the title.

Nothing is fetched from the internet and nothing is stored: the picture is a pure
function of the product's title and category, so it is deterministic and can be cached
for a long time (the ETag changes when the title or category does).
"""

import hashlib
import textwrap
import zlib
from xml.sax.saxutils import escape

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from shop.demo.catalog_spec import CATEGORIES, product_types
from shop.models import Product
from shop.selectors import product_id_may_exist

IMAGE_MAX_AGE = 60 * 60 * 24 * 30
FALLBACK_COLOURS = ("#3b5bdb", "#0b7285", "#2f9e44", "#e8590c", "#ae3ec9", "#c2255c", "#495057", "#1098ad")

# Line icons in a 100 x 100 box, drawn in the stroke colour with no fill.
ICONS: dict[str, str] = {
    "laptop": '<rect x="20" y="22" width="60" height="40" rx="4"/><path d="M8 70h84l-6 9H14z"/>',
    "mouse": '<rect x="32" y="16" width="36" height="68" rx="18"/><path d="M50 16v22"/>',
    "keyboard": '<rect x="8" y="30" width="84" height="42" rx="6"/>'
    '<path d="M20 44h4M32 44h4M44 44h4M56 44h4M68 44h4M78 44h2M20 56h4M30 58h40M76 56h4"/>',
    "bag": '<rect x="14" y="36" width="72" height="48" rx="8"/><path d="M36 36v-8a6 6 0 0 1 6-6h16a6 6 0 0 1 6 6v8"/>'
    '<path d="M14 54h72"/>',
    "backpack": '<rect x="24" y="26" width="52" height="62" rx="14"/><path d="M40 26v-6a10 10 0 0 1 20 0v6"/>'
    '<rect x="34" y="58" width="32" height="20" rx="4"/>',
    "plug": '<rect x="36" y="16" width="28" height="32" rx="4"/><path d="M43 16V6M57 16V6M50 48v16'
    'a12 12 0 0 1-12 12H28"/>',
    "stand": '<path d="M22 30l56-8M24 30l-6 50M76 22l8 58M18 80h66"/><rect x="26" y="40" width="48" height="4" rx="2"/>',
    "drive": '<rect x="22" y="12" width="56" height="76" rx="8"/><path d="M34 74h32"/><circle cx="50" cy="40" r="10"/>',
    "pen": '<path d="M70 14l16 16-50 50-20 4 4-20z"/><path d="M62 22l16 16"/>',
    "phone": '<rect x="30" y="8" width="40" height="84" rx="8"/><path d="M44 80h12M44 16h12"/>',
    "phone-case": '<rect x="28" y="8" width="44" height="84" rx="10"/><rect x="36" y="16" width="14" height="18" rx="4"/>'
    '<circle cx="43" cy="25" r="3"/>',
    "charger": '<circle cx="50" cy="54" r="30"/><path d="M54 36L42 56h14L46 74"/>',
    "battery": '<rect x="28" y="18" width="44" height="70" rx="6"/><path d="M42 18v-6h16v6M54 36L42 56h14L46 74"/>',
    "camera": '<rect x="10" y="30" width="80" height="52" rx="8"/><path d="M32 30l8-12h20l8 12"/>'
    '<circle cx="50" cy="56" r="15"/><circle cx="76" cy="42" r="2"/>',
    "card": '<path d="M28 10h34l12 12v68H28z"/><path d="M38 10v14M46 10v14M54 10v14M62 14v10"/>',
    "tripod": '<rect x="36" y="10" width="28" height="14" rx="3"/><path d="M50 24v26M50 50L26 90M50 50l24 40M50 50v40"/>',
    "lens": '<circle cx="50" cy="50" r="36"/><circle cx="50" cy="50" r="22"/><circle cx="50" cy="50" r="8"/>',
    "headphones": '<path d="M20 64V50a30 30 0 0 1 60 0v14"/><rect x="12" y="56" width="18" height="30" rx="7"/>'
    '<rect x="70" y="56" width="18" height="30" rx="7"/>',
    "earbuds": '<circle cx="32" cy="36" r="14"/><path d="M32 50v34"/><circle cx="68" cy="36" r="14"/><path d="M68 50v34"/>',
    "speaker": '<rect x="26" y="8" width="48" height="84" rx="10"/><circle cx="50" cy="60" r="16"/>'
    '<circle cx="50" cy="28" r="7"/>',
    "soundbar": '<rect x="6" y="40" width="88" height="22" rx="8"/><path d="M20 51h2M32 51h2M44 51h2M56 51h2M68 51h2M80 51h2"/>',
    "record": '<circle cx="50" cy="50" r="38"/><circle cx="50" cy="50" r="12"/><path d="M50 20a30 30 0 0 1 30 30"/>',
    "tv": '<rect x="8" y="16" width="84" height="54" rx="5"/><path d="M50 70v12M32 86h36"/>',
    "projector": '<rect x="10" y="36" width="80" height="36" rx="8"/><circle cx="34" cy="54" r="11"/>'
    '<path d="M58 48h22M58 58h22M20 72v8M80 72v8"/>',
    "gamepad": '<path d="M30 32h40a20 20 0 0 1 20 20v10a10 10 0 0 1-18 6l-8-8H36l-8 8a10 10 0 0 1-18-6V52'
    'a20 20 0 0 1 20-20z"/><path d="M26 50h14M33 43v14"/><circle cx="64" cy="46" r="2.5"/><circle cx="72" cy="54" r="2.5"/>',
    "console": '<rect x="12" y="28" width="76" height="44" rx="8"/><path d="M12 58h76"/><circle cx="74" cy="43" r="4"/>'
    '<path d="M24 43h20"/>',
    "coffee-machine": '<path d="M22 12h56v76H22zM22 30h56"/><rect x="38" y="60" width="24" height="20" rx="3"/>'
    '<path d="M44 40v10M56 40v10"/>',
    "grinder": '<path d="M34 10h32l-4 20H38z"/><rect x="28" y="30" width="44" height="56" rx="6"/><circle cx="50" cy="56" r="9"/>',
    "blender": '<path d="M30 12h40l-6 50H36z"/><rect x="30" y="62" width="40" height="24" rx="4"/><path d="M66 22h10v26h-8"/>',
    "air-fryer": '<rect x="20" y="14" width="60" height="74" rx="14"/><rect x="30" y="46" width="40" height="30" rx="5"/>'
    '<circle cx="50" cy="30" r="6"/>',
    "mixer": '<path d="M24 18h40a12 12 0 0 1 12 12v10H40v16"/><path d="M30 56h40l-6 24H36z"/><path d="M20 88h60"/>',
    "kettle": '<path d="M26 40h48l6 44H20z"/><path d="M34 40c0-12 32-12 32 0M74 50l14-10M44 28h12"/>',
    "bean-bag": '<path d="M28 16h44l8 72H20z"/><path d="M28 28h44"/><ellipse cx="50" cy="58" rx="9" ry="13"/>'
    '<path d="M50 45c-4 8 4 18 0 26"/>',
    "cup": '<path d="M22 34h46v34a14 14 0 0 1-14 14H36a14 14 0 0 1-14-14z"/><path d="M68 42h6a10 10 0 0 1 0 20h-6"/>'
    '<path d="M36 14c-4 6 4 10 0 16M50 14c-4 6 4 10 0 16"/>',
    "filter": '<path d="M18 26h64L60 80H40z"/><path d="M30 40h40"/>',
    "pan": '<circle cx="40" cy="54" r="26"/><path d="M66 54h28"/><circle cx="40" cy="54" r="16"/>',
    "pot": '<rect x="18" y="40" width="64" height="42" rx="8"/><path d="M10 40h80M8 52h10M82 52h10M42 30h16v10"/>',
    "knife": '<path d="M14 76L70 20c8 4 10 14 4 20L34 72z"/><path d="M34 72l-10 10a6 6 0 0 1-10-6l10-10"/>',
    "board": '<rect x="14" y="24" width="64" height="56" rx="10"/><path d="M78 44h8a4 4 0 0 1 0 16h-8"/>'
    '<path d="M24 34h44"/>',
    "lamp": '<path d="M34 14h32l12 32H22z"/><path d="M50 46v36M32 86h36"/>',
    "rug": '<rect x="14" y="18" width="72" height="64" rx="3"/><rect x="24" y="28" width="52" height="44"/>'
    '<path d="M14 14v-2M30 14v-2M46 14v-2M62 14v-2M78 14v-2M50 38l10 12-10 12-10-12z"/>',
    "frame": '<rect x="16" y="12" width="68" height="76" rx="2"/><path d="M26 74l16-22 12 14 8-10 12 18z"/>'
    '<circle cx="62" cy="32" r="6"/>',
    "blanket": '<path d="M14 26h72v40H14z"/><path d="M14 66c6 12 20 14 30 6s24-6 30 4l12-10"/><path d="M14 40h72"/>',
    "candle": '<rect x="28" y="44" width="44" height="44" rx="6"/><path d="M50 44v-8"/>'
    '<path d="M50 12c8 10 8 18 0 22-8-4-8-12 0-22z"/>',
    "plant": '<path d="M30 56h40l-6 32H36z"/><path d="M50 56V30M50 40c-14 0-20-10-20-20 12 0 20 8 20 20M50 34'
    'c0-14 10-22 22-22 0 12-8 22-22 22"/>',
    "bed": '<path d="M10 80V26M10 60h80v20M90 60V48a8 8 0 0 0-8-8H44v20"/><rect x="18" y="44" width="20" height="14" rx="5"/>',
    "pillow": '<path d="M16 30c22 6 46 6 68 0-6 14-6 28 0 42-22-6-46-6-68 0 6-14 6-28 0-42z"/>',
    "towel": '<path d="M20 18h60v52H20z"/><path d="M20 70v12h60V70M20 30h60"/>',
    "tshirt": '<path d="M36 14L16 24 8 44l16 6 4-8v44h44V42l4 8 16-6-8-20-20-10c-4 8-24 8-28 0z"/>',
    "hoodie": '<path d="M36 18L16 28 10 86h16l4-40v40h40V46l4 40h16l-6-58-20-10"/><path d="M36 18c0 14 28 14 28 0'
    'M36 18c2-10 26-10 28 0"/><path d="M44 68h12"/>',
    "trousers": '<path d="M28 10h44l6 78H58L50 38l-8 50H22z"/><path d="M28 20h44"/>',
    "jacket": '<path d="M36 14L16 24l-6 62h16V48v38h48V48v38h16l-6-62-20-10-14 12z"/><path d="M50 26v60"/>',
    "shoe": '<path d="M10 70V42h20l10 12h18l30 12a8 8 0 0 1-2 14H10z"/><path d="M10 72h80M40 54l-4 8M48 56l-4 8"/>',
    "boot": '<path d="M24 14h26v40l30 14a8 8 0 0 1-2 14H24z"/><path d="M24 82h58M34 28h10M34 38h10"/>',
    "sandal": '<path d="M14 66h72a6 6 0 0 1 0 12H14a6 6 0 0 1 0-12z"/><path d="M28 66c2-14 14-22 22-22s20 8 22 22'
    'M44 44l-4 22"/>',
    "mat": '<rect x="10" y="46" width="58" height="30" rx="4"/><circle cx="74" cy="54" r="16"/><circle cx="74" cy="54" r="6"/>',
    "box": '<path d="M18 36l32-16 32 16v36l-32 16-32-16z"/><path d="M18 36l32 16 32-16M50 52v36"/>',
    "dumbbell": '<rect x="10" y="32" width="12" height="36" rx="3"/><rect x="22" y="38" width="10" height="24" rx="2"/>'
    '<path d="M32 50h36"/><rect x="68" y="38" width="10" height="24" rx="2"/><rect x="78" y="32" width="12" height="36" rx="3"/>',
    "bench": '<path d="M14 46h72M20 46v34M80 46v34M36 46l-6-20h40"/>',
    "bottle": '<path d="M40 8h20v12l8 10v58H32V30l8-10z"/><path d="M32 46h36M32 70h36"/>',
    "watch": '<rect x="30" y="30" width="40" height="40" rx="10"/><path d="M38 30V10h24v20M38 70v20h24V70M50 40v10l6 6"/>',
    "sock": '<path d="M36 10h26v44l16 14a10 10 0 0 1-12 16L38 66a6 6 0 0 1-2-4z"/><path d="M36 22h26"/>',
    "tent": '<path d="M8 84L50 16l42 68z"/><path d="M50 16L38 84M42 84l8-22 8 22"/>',
    "sleeping-bag": '<rect x="28" y="8" width="44" height="84" rx="22"/><path d="M28 34h44M50 34v58"/>',
    "flame": '<path d="M50 10c16 18 24 30 24 44a24 24 0 0 1-48 0c0-8 4-16 10-22 2 8 6 12 10 12 0-12 0-22 4-34z"/>'
    '<path d="M20 88h60"/>',
    "headlamp": '<ellipse cx="50" cy="50" rx="38" ry="18"/><rect x="36" y="34" width="28" height="22" rx="6"/>'
    '<circle cx="50" cy="45" r="6"/>',
    "lantern": '<path d="M40 14h20M36 22h28l-4 8H40zM32 30h36v48H32zM28 78h44l-4 8H32z"/><path d="M50 40v28"/>',
    "pump-bottle": '<rect x="30" y="40" width="40" height="50" rx="8"/><path d="M44 40V28h12v12M50 28V16h18"/>'
    '<path d="M38 58h24"/>',
    "jar": '<rect x="20" y="42" width="60" height="42" rx="10"/><rect x="24" y="26" width="52" height="16" rx="4"/>'
    '<path d="M34 62h32"/>',
    "toothbrush": '<rect x="40" y="36" width="20" height="54" rx="8"/><path d="M46 36V10h8v26M44 14h-4M44 20h-4M44 26h-4"/>'
    '<circle cx="50" cy="56" r="3"/>',
    "hairdryer": '<path d="M16 34a18 18 0 0 1 18-18h46v32H34a18 18 0 0 1-18-14z"/><path d="M40 48l-6 40h16l4-40"/>'
    '<circle cx="32" cy="32" r="6"/>',
    "perfume": '<rect x="24" y="40" width="52" height="48" rx="8"/><rect x="40" y="24" width="20" height="16" rx="2"/>'
    '<path d="M46 24v-8h8v8M36 60h28"/>',
    "paw": '<ellipse cx="50" cy="64" rx="18" ry="15"/><circle cx="24" cy="44" r="7"/><circle cx="38" cy="28" r="7"/>'
    '<circle cx="62" cy="28" r="7"/><circle cx="76" cy="44" r="7"/>',
    "food-bag": '<path d="M26 14h48l6 74H20z"/><path d="M26 26h48"/><path d="M40 56a6 6 0 1 1 10 0 6 6 0 1 1 10 0'
    'l-10 12z"/>',
    "pet-bed": '<path d="M8 70c0-20 8-34 22-34h40c14 0 22 14 22 34v8H8z"/><path d="M22 70c0-10 8-16 28-16s28 6 28 16"/>',
    "leash": '<path d="M70 12a14 14 0 1 1 0 28 14 14 0 1 1 0-28M60 36L26 74"/><circle cx="22" cy="80" r="6"/>',
    "bone": '<path d="M30 42l40 0M30 58h40"/><circle cx="24" cy="40" r="9"/><circle cx="24" cy="60" r="9"/>'
    '<circle cx="76" cy="40" r="9"/><circle cx="76" cy="60" r="9"/>',
    "bowl": '<path d="M12 48h76c0 20-16 34-38 34S12 68 12 48z"/><path d="M30 40c6-6 14-6 20 0s14 6 20 0"/>',
    "cat-tree": '<rect x="16" y="14" width="34" height="10" rx="3"/><rect x="50" y="44" width="34" height="10" rx="3"/>'
    '<path d="M32 24v62M66 54v32M14 86h72"/>',
    "printer": '<rect x="12" y="38" width="76" height="32" rx="5"/><path d="M28 38V14h44v24M28 60h44v26H28z"/>'
    '<circle cx="76" cy="48" r="2"/>',
    "drop": '<path d="M50 12c18 24 26 38 26 50a26 26 0 0 1-52 0c0-12 8-26 26-50z"/><path d="M38 62a12 12 0 0 0 12 12"/>',
    "paper": '<path d="M22 20h44l14 14v54H22z"/><path d="M66 20v14h14M32 48h36M32 60h36M32 72h24"/>',
    "notebook": '<rect x="24" y="10" width="54" height="80" rx="4"/><path d="M36 10v80M18 24h12M18 40h12M18 56h12M18 72h12'
    'M46 30h22"/>',
    "blocks": '<rect x="14" y="52" width="34" height="34" rx="3"/><rect x="52" y="52" width="34" height="34" rx="3"/>'
    '<rect x="33" y="16" width="34" height="34" rx="3"/>',
    "dice": '<rect x="18" y="18" width="64" height="64" rx="12"/><circle cx="36" cy="36" r="4"/><circle cx="50" cy="50" r="4"/>'
    '<circle cx="64" cy="64" r="4"/>',
    "puzzle": '<path d="M18 30h18a8 8 0 1 1 16 0h18v18a8 8 0 1 1 0 16v18H52a8 8 0 1 0-16 0H18V64a8 8 0 1 0 0-16z"/>',
    "teddy": '<circle cx="50" cy="38" r="18"/><circle cx="32" cy="22" r="7"/><circle cx="68" cy="22" r="7"/>'
    '<ellipse cx="50" cy="74" rx="22" ry="16"/><circle cx="50" cy="44" r="3"/>',
    "car": '<path d="M10 64V50l12-16h40l16 16h12v14z"/><circle cx="28" cy="66" r="9"/><circle cx="72" cy="66" r="9"/>',
    "flask": '<path d="M40 12h20M44 12v26L20 80a6 6 0 0 0 6 8h48a6 6 0 0 0 6-8L56 38V12"/><path d="M30 64h40"/>',
    "tag": '<path d="M14 50L50 14h36v36L50 86z"/><circle cx="70" cy="30" r="6"/>',
}

TYPE_ICONS = sorted(
    ((product_type.name.lower(), product_type.icon) for _, product_type in product_types()),
    key=lambda pair: -len(pair[0]),
)
CATEGORY_STYLE = {category.name.lower(): (category.colour, category.icon) for category in CATEGORIES}


def image_style(*, title: str, category: str) -> tuple[str, str]:
    """Return (colour, icon) for a product: its type's icon if the title names a known type."""
    colour, icon = CATEGORY_STYLE.get(category.lower(), (None, "tag"))
    if colour is None:
        colour = FALLBACK_COLOURS[zlib.crc32(category.encode("utf-8")) % len(FALLBACK_COLOURS)]
    lowered = title.lower()
    for type_name, type_icon in TYPE_ICONS:
        if type_name in lowered:
            return colour, type_icon
    return colour, icon


def tint(colour: str, amount: float) -> str:
    """Mix a #rrggbb colour with white (amount 0: the colour, 1: white)."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    mixed = (round(channel + (255 - channel) * amount) for channel in (red, green, blue))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def title_lines(title: str, *, width: int = 24, max_lines: int = 3) -> list[str]:
    """Wrap a title for the card, ending in an ellipsis when it does not fit."""
    lines = textwrap.wrap(title, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last[: width - 1].rstrip(" ,") if len(last) >= width else last.rstrip(" ,")) + "…"
    return lines


def product_image_svg(*, title: str, category: str) -> str:
    """Return a 400 x 400 SVG card: tinted background, the type's icon in the category colour, the title."""
    colour, icon = image_style(title=title, category=category)
    light, lighter = tint(colour, 0.86), tint(colour, 0.94)
    lines = title_lines(title)
    text_top = 300 - 14 * (len(lines) - 1)
    tspans = "".join(
        f'<tspan x="200" y="{text_top + 28 * index}">{escape(line)}</tspan>' for index, line in enumerate(lines)
    )
    label = escape(category.upper()[:30])
    label_width = 26 + 10.2 * len(label)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" '
        f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">'
        f"<defs><linearGradient id=\"bg{colour[1:]}\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
        f'<stop offset="0" stop-color="{lighter}"/><stop offset="1" stop-color="{light}"/></linearGradient></defs>'
        f'<rect width="400" height="400" fill="url(#bg{colour[1:]})"/>'
        f'<circle cx="200" cy="150" r="98" fill="#ffffff" fill-opacity="0.75"/>'
        f'<g transform="translate(136 86) scale(1.28)" fill="none" stroke="{colour}" stroke-width="5" '
        f'stroke-linecap="round" stroke-linejoin="round">{ICONS.get(icon, ICONS["tag"])}</g>'
        f'<rect x="16" y="16" width="{label_width:.0f}" height="28" rx="14" fill="{colour}"/>'
        f'<text x="{16 + label_width / 2:.0f}" y="35" text-anchor="middle" fill="#ffffff" '
        'font-family="Helvetica, Arial, sans-serif" font-size="13" font-weight="700" letter-spacing="0.5">'
        f"{label}</text>"
        '<text text-anchor="middle" fill="#212529" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="22" font-weight="600">{tspans}</text>'
        "</svg>"
    )


@require_safe
def product_image(request, product_id: str):
    """Serve a product's SVG image, cached for a month and revalidated by ETag."""
    if not product_id_may_exist(product_id):
        raise Http404("No such product.")
    product = Product.objects.select_related("category").filter(product_id=product_id).first()
    if product is None:
        raise Http404("No such product.")
    svg = product_image_svg(title=product.title, category=product.category.name)
    etag = '"' + hashlib.sha256(svg.encode("utf-8")).hexdigest()[:32] + '"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(svg, content_type="image/svg+xml")
    response["ETag"] = etag
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    patch_cache_control(response, public=True, max_age=IMAGE_MAX_AGE)
    return response
