"""sotto_proto_library: one macro that turns .proto files into C++ and Python gRPC stubs.

Debian ships protoc and the gRPC plugins but no Bazel proto rules that work
with Bazel 4.2.3 offline, so a genrule runs protoc directly. All sources of
one call share an import root (the package directory), so
`import "sotto/v1/common.proto";` resolves within the call.

Targets made for name = "x":
  x_cc  cc_library with the messages and gRPC stubs (#include "sotto/v1/foo.grpc.pb.h")
  x_py  py_library with foo_pb2 / foo_pb2_grpc (import sotto.v1.foo_pb2)
"""

def sotto_proto_library(name, srcs, visibility = None):
    pkg = native.package_name()
    stems = [s[:-len(".proto")] for s in srcs]
    cc_outs = []
    for s in stems:
        cc_outs += [s + ".pb.h", s + ".pb.cc", s + ".grpc.pb.h", s + ".grpc.pb.cc"]
    py_outs = []
    for s in stems:
        py_outs += [s + "_pb2.py", s + "_pb2_grpc.py"]

    native.genrule(
        name = name + "_cc_gen",
        srcs = srcs,
        outs = cc_outs,
        cmd = " ".join([
            "protoc",
            "-I" + (pkg or "."),
            "--cpp_out=$(RULEDIR)",
            "--grpc_out=$(RULEDIR)",
            "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)",
            "$(SRCS)",
        ]),
        message = "protoc C++ " + pkg,
    )
    native.cc_library(
        name = name + "_cc",
        srcs = [o for o in cc_outs if o.endswith(".cc")],
        hdrs = [o for o in cc_outs if o.endswith(".h")],
        includes = ["."],
        deps = ["@system//:grpc"],
        visibility = visibility,
    )

    native.genrule(
        name = name + "_py_gen",
        srcs = srcs,
        outs = py_outs,
        cmd = " ".join([
            "protoc",
            "-I" + (pkg or "."),
            "--python_out=$(RULEDIR)",
            "--grpc_python_out=$(RULEDIR)",
            "--plugin=protoc-gen-grpc_python=$$(command -v grpc_python_plugin)",
            "$(SRCS)",
        ]),
        message = "protoc Python " + pkg,
    )
    native.py_library(
        name = name + "_py",
        srcs = py_outs,
        imports = ["."],
        visibility = visibility,
    )
