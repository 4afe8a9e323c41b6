"""Connected regions of a mask: small ones removed, sizes counted across strip seams."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), bool)


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop connected regions of `mask` smaller than `min_pixels` (8-connectivity)."""
    labels, count = ndimage.label(mask, structure=EIGHT_CONNECTED)
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


class SeamUnionFind:
    """Ids of the regions that touch strip seams, merged across seams: what every streamed labelling shares."""

    def __init__(self):
        self.parent: list[int] = []

    def new_ids(self, count: int) -> int:
        """`count` new ids, each its own region; returns the first."""
        first = len(self.parent)
        self.parent.extend(range(first, first + count))
        return first

    def root(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join_rows(self, above: np.ndarray, below: np.ndarray, diagonal: bool) -> list[tuple[int, int]]:
        """Merge the regions that touch across a seam, given the ids along the rows either side (-1: none);
        straight down, and diagonally too for 8-connectivity. Returns (kept root, merged root) per merge."""
        pairs = [np.column_stack([above, below])]
        if diagonal:
            pairs += [np.column_stack([above[:-1], below[1:]]), np.column_stack([above[1:], below[:-1]])]
        pairs = np.concatenate(pairs)
        merges = []
        for upper, lower in np.unique(pairs[(pairs >= 0).all(axis=1)], axis=0).tolist():
            root_upper, root_lower = self.root(upper), self.root(lower)
            if root_upper != root_lower:
                self.parent[root_lower] = root_upper
                merges.append((root_upper, root_lower))
        return merges

    def roots(self) -> np.ndarray:
        """Every id's root, at once."""
        roots = np.asarray(self.parent, np.int64)
        while True:
            deeper = roots[roots]
            if np.array_equal(deeper, roots):
                return roots
            roots = deeper


class RegionSizes:
    """Sizes of the 8-connected regions of a mask fed strip by strip (top to bottom), in bounded memory.

    Regions inside one strip are sized there and forgotten. Regions touching a strip's first or last row get
    an id, are merged across seams with a union-find, and are sized once every strip is in. `large()` then
    labels a strip's mask again (the same mask gives the same labels) and keeps its large regions, so
    `large(index, mask, n)` of every strip equals remove_small_regions(whole mask, n).
    """

    def __init__(self):
        self.first_ids: list[int] = []  # per strip: the id of its first seam region
        self.union = SeamUnionFind()
        self.sizes: list[int] = []
        self.last_row_ids: np.ndarray | None = None  # ids along the previous strip's last row, -1 off the mask
        self.region_sizes: np.ndarray | None = None  # per id, its whole region's size (after the last strip)

    @staticmethod
    def _label(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels, count = ndimage.label(mask, structure=EIGHT_CONNECTED)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        seam = np.unique(np.concatenate([labels[0], labels[-1]]))
        return labels, sizes, seam[seam > 0]

    def add(self, mask: np.ndarray) -> None:
        labels, sizes, seam = self._label(mask)
        first = self.union.new_ids(len(seam))
        self.first_ids.append(first)
        self.sizes.extend(sizes[seam].tolist())
        ids = np.full(len(sizes), -1, np.int64)
        ids[seam] = np.arange(first, first + len(seam))
        if self.last_row_ids is not None:
            self.union.join_rows(self.last_row_ids, ids[labels[0]], diagonal=True)
        self.last_row_ids = ids[labels[-1]]

    def _resolve(self) -> np.ndarray:
        roots = self.union.roots()
        totals = np.bincount(roots, weights=np.asarray(self.sizes, np.float64), minlength=len(roots))
        return totals[roots].astype(np.int64)

    def large(self, index: int, mask: np.ndarray, min_pixels: int) -> np.ndarray:
        """The pixels of strip `index` (the same mask as given to add) in regions of at least `min_pixels`."""
        if self.region_sizes is None:
            self.region_sizes = self._resolve()
        labels, sizes, seam = self._label(mask)
        first = self.first_ids[index]
        sizes[seam] = self.region_sizes[first:first + len(seam)]
        keep = sizes >= min_pixels
        keep[0] = False
        return keep[labels]
