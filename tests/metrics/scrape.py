"""Reads a /metrics answer the way Prometheus does (prometheus_client's own parser)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[sample.name, frozenset(sample.labels.items())] = sample.value
        return cls(text, samples)

    def value(self, name: str, **labels: str) -> float | None:
        """The sample with exactly these labels, or None when the scrape has none."""
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum of every sample of `name` whose labels include these."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def label_values(self, name: str, label: str) -> set[str]:
        return {
            dict(ls)[label]
            for (n, ls), _ in self.samples.items()
            if n == name and label in dict(ls)
        }


async def scrape(client: httpx.AsyncClient, base: str = "", **headers: str) -> Scrape:
    answer = await client.get(f"{base}/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape.parse(answer.text)
