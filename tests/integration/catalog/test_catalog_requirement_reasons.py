"""ModelUploaded's requirement reasons are stored on the version and returned with its
requirements, on real Postgres (catalog migration 0015, docs/catalog.md)."""

from __future__ import annotations

from catalog_events import RunningCatalog, headers, uploaded


async def test_the_uploaded_reasons_are_returned_with_each_requirement(
    catalog: RunningCatalog,
) -> None:
    with_reasons = uploaded("alice", "imager").model_copy(
        update={
            "requirements": ("Pillow==10.4.0", "numpy==2.0.0", "requests"),
            "requirement_reasons": {
                "pillow": ("traced object PIL.Image.Image",),
                "numpy": ("imported by model.py (import numpy)", "declared"),
                "requests": ("declared",),
            },
        }
    )
    # Version 2 comes from a producer that predates reasons.
    plain = uploaded("alice", "imager", 2).model_copy(update={"requirements": ("numpy==2.0.0",)})
    await catalog.deliver(with_reasons, plain)

    first = await catalog.client.get(
        "/internal/models/alice/imager/versions/1", headers=headers("alice")
    )
    assert first.status_code == 200, first.text
    assert first.json()["requirement_reasons"] == [
        {"requirement": "Pillow==10.4.0", "reasons": ["traced object PIL.Image.Image"]},
        {
            "requirement": "numpy==2.0.0",
            "reasons": ["imported by model.py (import numpy)", "declared"],
        },
        {"requirement": "requests", "reasons": ["declared"]},
    ]
    second = await catalog.client.get(
        "/internal/models/alice/imager/versions/2", headers=headers("alice")
    )
    assert second.status_code == 200, second.text
    assert second.json()["requirements"] == ["numpy==2.0.0"]
    assert second.json()["requirement_reasons"] == []


async def test_a_redelivered_upload_keeps_one_copy_of_the_reasons(catalog: RunningCatalog) -> None:
    event = uploaded("bob", "imager").model_copy(
        update={"requirements": ("numpy",), "requirement_reasons": {"numpy": ("declared",)}}
    )
    await catalog.deliver(event, event)

    detail = await catalog.client.get(
        "/internal/models/bob/imager/versions/1", headers=headers("bob")
    )
    assert detail.status_code == 200, detail.text
    assert detail.json()["requirement_reasons"] == [
        {"requirement": "numpy", "reasons": ["declared"]}
    ]
