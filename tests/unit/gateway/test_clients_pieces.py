"""Pure pieces of the client generator (modelbay_gateway.clients): names in each language, the
TypeScript rendering of a descriptor, the snippets and the archive's reproducible bytes. The
packages themselves are compiled and run in tests/integration/gateway/test_generated_clients.py."""

from __future__ import annotations

import io
import tarfile

from google.protobuf.descriptor_pb2 import FieldDescriptorProto, FileDescriptorProto
from modelbay_gateway.clients.java_client import java_name, with_java_options
from modelbay_gateway.clients.languages import ClientLanguage
from modelbay_gateway.clients.package import pack_tar_gz
from modelbay_gateway.clients.python_client import python_name
from modelbay_gateway.clients.snippets import client_snippet
from modelbay_gateway.clients.target import Target, local_name
from modelbay_gateway.clients.typescript_messages import proto_camel_case, render_messages

F = FieldDescriptorProto


def test_names_are_valid_in_every_language() -> None:
    target = Target("Alice", "iris.v2_b", 3)
    assert target.slug == "alice-iris-v2-b"
    assert target.python_dist == "alice-iris-v2-b-client"
    assert target.python_module == "alice_iris_v2_b_client"
    assert target.java_package == "modelbay.clients.alice_iris_v2_b"
    assert Target("1x", "y", 1).identifier == "m_1x_y"
    assert python_name("import") == "import_"
    assert python_name("classify") == "classify"
    assert java_name("new") == "new_"
    assert java_name("predict") == "predict"


def test_proto_camel_case_is_protobuf_es() -> None:
    cases = {
        "sepal_length": "sepalLength",
        "IrisType": "IrisType",
        "x_1_y": "x1Y",
        "big__id": "bigId",
        "already": "already",
    }
    assert {name: proto_camel_case(name) for name in cases} == cases


def _file() -> FileDescriptorProto:
    file = FileDescriptorProto(name="model.proto", package="modelbay.m", syntax="proto3")
    file.enum_type.add(name="Colour").value.add(name="COLOUR_UNSPECIFIED", number=0)
    reading = file.message_type.add(name="Reading")
    reading.field.add(name="big_id", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    reading.field.add(name="values", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_REPEATED)
    entry = reading.nested_type.add(name="ExtrasEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL)
    reading.field.add(
        name="extras",
        number=3,
        type=F.TYPE_MESSAGE,
        type_name=".modelbay.m.Reading.ExtrasEntry",
        label=F.LABEL_REPEATED,
    )
    reading.nested_type.add(name="Note").field.add(
        name="to_string", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL
    )
    reading.field.add(
        name="note", number=4, type=F.TYPE_MESSAGE, type_name=".modelbay.m.Reading.Note"
    )
    reading.field.add(name="colour", number=5, type=F.TYPE_ENUM, type_name=".modelbay.m.Colour")
    return file


def test_typescript_messages_have_protoc_gen_es_shapes_and_indexes() -> None:
    source = render_messages(_file())
    assert "  bigId: bigint;" in source
    assert "  values: number[];" in source
    assert "  extras: { [key: string]: number };" in source
    assert "  note?: Reading_Note;" in source
    assert "  colour: Colour;" in source
    assert "  toString$: string;" in source  # escaped like protobuf-es
    # The map entry takes no index: Note is Reading's first nested message.
    assert "Reading_NoteSchema: GenMessage<Reading_Note> = messageDesc(file_model, 0, 0);" in source
    assert "ExtrasEntry" not in source  # a map entry is a record type, never a message
    assert "ColourSchema: GenEnum<Colour> = enumDesc(file_model, 0);" in source


def test_java_options_are_set_on_a_copy() -> None:
    file = _file()
    copy = with_java_options(file, "modelbay.clients.a_b")
    assert copy.options.java_package == "modelbay.clients.a_b"
    assert copy.options.java_multiple_files
    assert not file.HasField("options")
    assert local_name(file, "modelbay.m.Reading.Note") == "Reading.Note"


def test_snippets_name_the_archive_the_package_and_the_first_method() -> None:
    target = Target("alice", "iris", 3)
    python = client_snippet(target, ClientLanguage.PYTHON, "classify", "Input")
    typescript = client_snippet(target, ClientLanguage.TYPESCRIPT, "classify", "Input")
    java = client_snippet(target, ClientLanguage.JAVA, "classify", "Input")
    assert "/v1/models/alice/iris/versions/3/clients/python" in python
    assert "pip install ./alice-iris-3-python-client.tar.gz" in python
    assert "client.classify_json(model_pb2.Input(...))" in python
    assert 'import { ModelClient } from "alice-iris-client";' in typescript
    assert "client.classifyJson(" in typescript
    assert "import modelbay.clients.alice_iris.Input;" in java
    assert "alice-iris-3-java-client/build.sh" in java


def test_archives_are_reproducible_with_one_top_folder() -> None:
    files: dict[str, str | bytes] = {"b.txt": "b", "build.sh": "#!/bin/sh\n", "a/c": b"\x00"}
    first, second = pack_tar_gz("top", files), pack_tar_gz("top", dict(reversed(files.items())))
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = {m.name: m.mode for m in tar.getmembers()}
    assert members == {"top/a/c": 0o644, "top/b.txt": 0o644, "top/build.sh": 0o755}
