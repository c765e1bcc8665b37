"""Category paths in catalogue files: `Electronics > Cameras > Lenses` names a leaf and the branch above it.

Real catalogue exports file a product under a path of categories, and the same name recurs
under different parents ("Accessories"), so a path is resolved level by level: its first
name among the top-level categories, each next name among the children of the one before.
A store whose categories were arranged in the admin (a flat import's "Cameras" moved under
"Electronics") keeps them: a first name that is no top-level category is looked up as the
one category of that name anywhere. Whatever does not exist yet is created, with a slug of
its own name (`-2`, `-3`, ... when taken), so importing the same file again finds every
category it created the first time and creates none.
"""

from collections.abc import Iterable

from django.utils.text import slugify

from shop.models import Category

CATEGORY_SEPARATORS = (">", "/", "|")
DEFAULT_CATEGORY_SEPARATOR = ">"
DEFAULT_CATEGORY_NAME = "Uncategorized"

CategoryPath = tuple[str, ...]


def category_path_parse(value: str, *, separator: str = DEFAULT_CATEGORY_SEPARATOR) -> CategoryPath:
    """Return the names of a path such as `A > B > C`, top first; () for an empty cell.

    Blank levels (`A >  > B`, a trailing `>`) are dropped: exports write them for a missing
    level, and a category without a name cannot be created. Raises ValueError naming the
    level whose name is longer than a category name may be.
    """
    names = tuple(name for part in value.split(separator) if (name := part.strip()))
    max_length = Category._meta.get_field("name").max_length
    for level, name in enumerate(names, start=1):
        if len(name) > max_length:
            where = "category" if len(names) == 1 else f"category level {level}"
            raise ValueError(f"{where} is longer than {max_length} characters ({len(name)})")
    return names


def default_category_path(name: str) -> CategoryPath:
    """Return the path of the category for rows without one: a single name, taken whole (separators included)."""
    name = name.strip()
    if not name:
        raise ValueError("the default category needs a name")
    return category_path_parse(name, separator="\n")


class CategoryTree:
    """Find or create the leaf category of each path, remembering the answers for one import.

    The category table is read once per batch that names a path not seen before (a store has
    thousands of categories at most), not once per level.
    """

    def __init__(self):
        self._ids: dict[CategoryPath, int] = {}

    def leaf_ids(self, paths: Iterable[CategoryPath]) -> tuple[dict[CategoryPath, int], int]:
        """Return {path: leaf category id} and how many categories were created, new paths in the order given."""
        new_paths = [path for path in dict.fromkeys(paths) if path not in self._ids]
        created = 0
        if new_paths:
            index = _CategoryIndex()
            for path in new_paths:
                created += self._resolve(path, index)
        return self._ids, created

    def _resolve(self, path: CategoryPath, index: "_CategoryIndex") -> int:
        created = 0
        parent_id = None
        for depth in range(1, len(path) + 1):
            branch = path[:depth]
            category_id = self._ids.get(branch)
            if category_id is None:
                name = branch[-1]
                category_id = index.top_level(name) if parent_id is None else index.child(parent_id, name)
                if category_id is None:
                    category_id = index.create(name, parent_id)
                    created += 1
                self._ids[branch] = category_id
            parent_id = category_id
        return created


class _CategoryIndex:
    """The category table in memory: children by (parent, name), and ids by name for the admin's moves."""

    def __init__(self):
        self._by_parent: dict[tuple[int | None, str], int] = {}
        self._by_name: dict[str, list[int]] = {}
        for category_id, name, parent_id in Category.objects.order_by().values_list("id", "name", "parent_id"):
            self._add(category_id, name, parent_id)

    def top_level(self, name: str) -> int | None:
        found = self._by_parent.get((None, name))
        if found is None and len(ids := self._by_name.get(name, ())) == 1:
            found = ids[0]
        return found

    def child(self, parent_id: int, name: str) -> int | None:
        return self._by_parent.get((parent_id, name))

    def create(self, name: str, parent_id: int | None) -> int:
        category_id = Category.objects.create(name=name, slug=category_slug_free(name), parent_id=parent_id).pk
        self._add(category_id, name, parent_id)
        return category_id

    def _add(self, category_id: int, name: str, parent_id: int | None) -> None:
        self._by_parent[(parent_id, name)] = category_id
        self._by_name.setdefault(name, []).append(category_id)


def category_slug_free(name: str) -> str:
    """Return slugify(name), or it with the smallest free `-2`, `-3`, ... when another category has it."""
    max_length = Category._meta.get_field("slug").max_length
    base = slugify(name)[: max_length - 8].strip("-") or "category"
    taken = set(Category.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    suffix = 1
    slug = base
    while slug in taken:
        suffix += 1
        slug = f"{base}-{suffix}"
    return slug
