"""Proves the v1 API compiles to Python stubs usable with Debian's grpcio."""

import unittest

import grpc
from sotto.v1 import broker_pb2, broker_pb2_grpc
from sotto.v1 import common_pb2
from sotto.v1 import media_pb2_grpc
from sotto.v1 import policy_pb2_grpc
from sotto.v1 import recorder_pb2_grpc
from sotto.v1 import reporting_pb2_grpc


class PythonStubsTest(unittest.TestCase):

    def test_every_service_has_a_stub(self):
        channel = grpc.insecure_channel("127.0.0.1:1")
        for stub in (broker_pb2_grpc.BrokerStub, broker_pb2_grpc.EngineRegistryStub,
                     media_pb2_grpc.MediaEngineStub, policy_pb2_grpc.PolicyStub,
                     recorder_pb2_grpc.RecorderStub, reporting_pb2_grpc.ReportingStub):
            self.assertIsNotNone(stub(channel))
        channel.close()

    def test_modes_are_the_four_of_the_design(self):
        names = [v.name for v in common_pb2.Mode.DESCRIPTOR.values]
        self.assertEqual(names, ["MODE_UNSPECIFIED", "MODE_LISTEN", "MODE_WHISPER",
                                 "MODE_BARGE", "MODE_TAKEOVER"])

    def test_supervision_request_round_trips(self):
        request = broker_pb2.CreateSupervisionRequest(
            parent="tenants/acme/calls/c-1", mode=common_pb2.MODE_WHISPER,
            request_id="r-1")
        request.media.codec = common_pb2.CODEC_PCMU
        request.media.remote_key.suite = common_pb2.CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
        parsed = broker_pb2.CreateSupervisionRequest.FromString(request.SerializeToString())
        self.assertEqual(parsed, request)

    def test_broker_service_lists_rpcs(self):
        service = broker_pb2.DESCRIPTOR.services_by_name["Broker"]
        self.assertIn("SetSupervisionMode", service.methods_by_name)
        self.assertTrue(service.methods_by_name["SetSupervisionMode"].input_type.fields_by_name
                        ["request_id"])


if __name__ == "__main__":
    unittest.main()
