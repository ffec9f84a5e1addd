"""Checks that the public v1 API is documented and follows the house conventions.

Every service, RPC, message, field, enum and enum value (other than the
*_UNSPECIFIED zero value) in protos/sotto/v1 must carry its own leading or
trailing comment. Enum value 0 must be *_UNSPECIFIED, and every mutating
RPC's request must carry a `request_id`.

Usage: proto_doc_lint.py PROTO_DIR
"""

import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

# RPCs that do not mutate state (no request_id needed).
READ_PREFIXES = ("Get", "List", "Watch", "Stream", "Download", "Export", "Verify",
                 "Authenticate", "Authorize")
# Mutating RPCs whose idempotency comes from their payload instead.
IDEMPOTENT_BY_PAYLOAD = {
    "IngestEvents",  # each event has event_id
    "RegisterEngine",  # upsert by engine_id
    "Heartbeat",  # overwrite
    "Drain",  # idempotent by nature
    "ApplyRetention",  # idempotent by nature
}


def main(proto_dir):
    files = sorted(
        os.path.join("sotto/v1", f) for f in os.listdir(os.path.join(proto_dir, "sotto/v1"))
        if f.endswith(".proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run(["protoc", "-I" + proto_dir, "--include_source_info",
                        "--descriptor_set_out=" + out] + files, check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())

    problems = []
    for fd in fds.file:
        comments = {}
        for loc in fd.source_code_info.location:
            text = (loc.leading_comments + loc.trailing_comments).strip()
            comments[tuple(loc.path)] = text

        def need(path, what):
            if not comments.get(tuple(path)):
                problems.append("%s: %s has no comment" % (fd.name, what))

        def walk_enum(enum, path, prefix):
            need(path, "enum " + prefix + enum.name)
            if not enum.value or not enum.value[0].name.endswith("UNSPECIFIED"):
                problems.append("%s: enum %s value 0 is not *_UNSPECIFIED" % (fd.name, enum.name))
            for i, v in enumerate(enum.value):
                if i == 0:
                    continue  # *_UNSPECIFIED documents itself
                need(path + [2, i], "enum value %s%s.%s" % (prefix, enum.name, v.name))

        def walk_message(msg, path, prefix):
            full = prefix + msg.name
            need(path, "message " + full)
            for i, field in enumerate(msg.field):
                need(path + [2, i], "field %s.%s" % (full, field.name))
            for i, nested in enumerate(msg.nested_type):
                if nested.options.map_entry:
                    continue
                walk_message(nested, path + [3, i], full + ".")
            for i, enum in enumerate(msg.enum_type):
                walk_enum(enum, path + [4, i], full + ".")

        for i, msg in enumerate(fd.message_type):
            walk_message(msg, [4, i], "")
        for i, enum in enumerate(fd.enum_type):
            walk_enum(enum, [5, i], "")
        messages = {"." + fd.package + "." + m.name: m for m in fd.message_type}
        for i, svc in enumerate(fd.service):
            need([6, i], "service " + svc.name)
            for j, method in enumerate(svc.method):
                need([6, i, 2, j], "rpc %s.%s" % (svc.name, method.name))
                if method.name.startswith(READ_PREFIXES) or method.name in IDEMPOTENT_BY_PAYLOAD:
                    continue
                req = messages.get(method.input_type)
                if req is not None and "request_id" not in [f.name for f in req.field]:
                    problems.append("%s: mutating rpc %s.%s has no request_id" %
                                    (fd.name, svc.name, method.name))

    for p in problems:
        print(p)
    print("%d problems in %d files" % (len(problems), len(fds.file)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
