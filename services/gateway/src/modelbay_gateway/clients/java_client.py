"""The Java package: protoc's message classes, a typed client over java.net.http, build files."""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from modelbay_gateway.clients.protoc import generate, methods_of
from modelbay_gateway.clients.target import Target, local_name
from modelbay_gateway.clients.templating import render

# Debian's jars: libprotobuf-java, and for JsonFormat libgoogle-gson-java and libguava-java.
DEBIAN_JARS = ("protobuf", "protobuf-util", "gson", "guava")
DEBIAN_CLASSPATH = ":".join(f"/usr/share/java/{jar}.jar" for jar in DEBIAN_JARS)
PROTOBUF_JAVA_VERSION = "3.21.12"  # the runtime Debian's protoc 3.21 generates for

_JAVA_KEYWORDS = frozenset(
    """abstract assert boolean break byte case catch char class const continue default do
    double else enum extends final finally float for goto if implements import instanceof int
    interface long native new package private protected public return short static strictfp
    super switch synchronized this throw throws transient try void volatile while true false
    null var record yield""".split()  # noqa: SIM905 - a word list reads better as text
)


def java_name(method: str) -> str:
    return f"{method}_" if method in _JAVA_KEYWORDS else method


def with_java_options(file: FileDescriptorProto, package: str) -> FileDescriptorProto:
    """A copy of `file` whose classes go to `package`, one file per top-level message."""
    copy = FileDescriptorProto()
    copy.CopyFrom(file)
    copy.options.java_package = package
    copy.options.java_multiple_files = True
    copy.options.java_outer_classname = "ModelProtos"
    return copy


def render_java(file: FileDescriptorProto, target: Target, readme: str) -> dict[str, str | bytes]:
    package = target.java_package
    methods = [
        {
            "name": m.name,
            "call": java_name(m.name),
            "input": local_name(file, m.input_type),
            "output": local_name(file, m.output_type),
        }
        for m in methods_of(file)
    ]
    jar = f"{target.slug}-client.jar"
    files: dict[str, str | bytes] = {
        "README.md": readme,
        "build.sh": render(
            "build.sh.j2", classpath=DEBIAN_CLASSPATH, jar=jar, protobuf=PROTOBUF_JAVA_VERSION
        ),
        "pom.xml": render(
            "pom.xml.j2",
            artifact=f"{target.slug}-client",
            version=target.version,
            protobuf=PROTOBUF_JAVA_VERSION,
        ),
        f"src/main/java/{package.replace('.', '/')}/client/ModelClient.java": render(
            "ModelClient.java.j2",
            full_name=target.full_name,
            version=target.version,
            package=package,
            methods=methods,
        ),
    }
    for path, content in generate(with_java_options(file, package), "--java_out").items():
        files[f"src/main/java/{path}"] = content
    return files
