"""Merging two customer accounts: what staff ask for, and what a merge (or its preview) answers."""

from __future__ import annotations

from crm_core.models.customer import Customer, Id, Model, Strict


class MergeRequest(Strict):
    source_id: Id


class MergeResult(Model):
    target: Customer
    source_id: str
    moved: dict[str, int]
    resumed: bool


class MergePreview(Model):
    """What a merge would do, read without writing: what moves (counted as ``moved`` will count it), the
    points balances that add up, and the source's username and email that are released."""

    target: Customer
    source: Customer
    moves: dict[str, int]
    points: dict[str, int]
    released: dict[str, str]
