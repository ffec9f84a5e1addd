#include "media_engine/control/media_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "media_engine/codec/e_model.h"
#include "media_engine/srtp/srtp_library.h"
#include "services/common/grpc_status.h"
#include "services/common/logging.h"

namespace sotto::media {
namespace {

using service_kit::ToGrpcStatus;

// DrainRequest.deadline when unset (media.proto).
constexpr absl::Duration kDefaultDrainDeadline = absl::Hours(1);

grpc::Status Invalid(absl::string_view message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(message));
}

std::optional<srtp::SrtpCryptoSuite> ToSuite(v1::CryptoSuite suite) {
  switch (suite) {
    case v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80:
      return srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80;
    case v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32:
      return srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32;
    case v1::CRYPTO_SUITE_AEAD_AES_128_GCM:
      return srtp::SrtpCryptoSuite::kAeadAes128Gcm;
    default:
      return std::nullopt;
  }
}

v1::CryptoSuite FromSuite(srtp::SrtpCryptoSuite suite) {
  switch (suite) {
    case srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80:
      return v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80;
    case srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32:
      return v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32;
    case srtp::SrtpCryptoSuite::kAeadAes128Gcm:
      return v1::CRYPTO_SUITE_AEAD_AES_128_GCM;
  }
  return v1::CRYPTO_SUITE_UNSPECIFIED;
}

// SrtpKey.inline_key is the base64 of an SDP `inline:` parameter
// (common.proto), without the "inline:" prefix; a prefixed value is taken
// too (base64 has no ':', so the two cannot be confused).
absl::StatusOr<srtp::SrtpKeyMaterial> KeyFromProto(
    srtp::SrtpCryptoSuite suite, const std::string& inline_key) {
  if (absl::StartsWith(inline_key, "inline:")) {
    return srtp::SrtpKeyMaterial::FromSdesKeyParams(suite, inline_key);
  }
  return srtp::SrtpKeyMaterial::FromSdesKeyParams(
      suite, absl::StrCat("inline:", inline_key));
}

// The remote's key from an offer whose suite is an SRTP one. The error
// never repeats the key itself.
absl::StatusOr<srtp::SrtpKeyMaterial> RemoteKeyFromOffer(
    const v1::SrtpKey& remote_key) {
  auto suite = ToSuite(remote_key.suite());
  if (!suite) {
    return absl::InvalidArgumentError(
        "offer.remote_key.suite must be an SRTP suite");
  }
  auto key = KeyFromProto(*suite, remote_key.inline_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("offer.remote_key.inline_key: ", key.status().message()));
  }
  return key;
}

std::string KeyToProto(const srtp::SrtpKeyMaterial& key) {
  return std::string(absl::StripPrefix(key.ToSdesKeyParams(), "inline:"));
}

absl::StatusOr<std::optional<net::SocketAddress>> ToAddress(
    const v1::Endpoint& endpoint, absl::string_view field) {
  if (endpoint.address().empty() && endpoint.port() == 0) return std::nullopt;
  if (endpoint.port() == 0 || endpoint.port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".port must be 1-65535, got ", endpoint.port()));
  }
  auto address = net::SocketAddress::Parse(
      endpoint.address(), static_cast<uint16_t>(endpoint.port()));
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".address: ", address.status().message()));
  }
  // Media goes to one endpoint: never to "any", a broadcast or a group.
  in_addr v4{};
  in6_addr v6{};
  const std::string& ip = endpoint.address();
  const bool bad =
      inet_pton(AF_INET, ip.c_str(), &v4) == 1
          ? (v4.s_addr == htonl(INADDR_ANY) ||
             v4.s_addr == htonl(INADDR_BROADCAST) ||
             IN_MULTICAST(ntohl(v4.s_addr)))
          : inet_pton(AF_INET6, ip.c_str(), &v6) == 1 &&
                (IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_MULTICAST(&v6));
  if (bad) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".address ", ip,
        " is not one endpoint's address (unspecified, broadcast or "
        "multicast)"));
  }
  return std::optional<net::SocketAddress>(*address);
}

absl::Status ValidatePtime(uint32_t ptime) {
  if (ptime == 0 || ptime == 10 || ptime == 20 || ptime == 30 || ptime == 40 ||
      ptime == 60) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("offer.ptime_ms must be 10, 20, 30, 40 or 60; got ", ptime));
}

// The remote side of a new leg from its offer.
absl::StatusOr<LegConfig> ConfigFromOffer(const v1::MediaOffer& offer,
                                          const std::string& leg_id) {
  LegConfig config;
  config.leg_id = leg_id;
  switch (offer.codec()) {
    case v1::CODEC_PCMU:
      config.codec = AudioCodec::kPcmu;
      config.payload_type = 0;
      break;
    case v1::CODEC_PCMA:
      config.codec = AudioCodec::kPcma;
      config.payload_type = 8;
      break;
    default:
      return absl::InvalidArgumentError(
          "offer.codec is required: CODEC_PCMU or CODEC_PCMA");
  }
  if (offer.payload_type() > 127 ||
      offer.telephone_event_payload_type() > 127) {
    return absl::InvalidArgumentError("payload types must be 0-127");
  }
  if (offer.payload_type() != 0) {
    config.payload_type = static_cast<uint8_t>(offer.payload_type());
  }
  config.telephone_event_payload_type =
      static_cast<uint8_t>(offer.telephone_event_payload_type());
  if ((config.codec == AudioCodec::kPcmu && config.payload_type == 8) ||
      (config.codec == AudioCodec::kPcma && config.payload_type == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offer.payload_type ", static_cast<int>(config.payload_type),
        " is the other G.711 law's static type: use the codec's own (0 PCMU, "
        "8 PCMA) or a dynamic one (96-127)"));
  }
  absl::Status status = ValidatePtime(offer.ptime_ms());
  if (!status.ok()) return status;
  config.ptime_ms =
      offer.ptime_ms() == 0 ? 20 : static_cast<int>(offer.ptime_ms());
  auto rtp = ToAddress(offer.remote_rtp(), "offer.remote_rtp");
  if (!rtp.ok()) return rtp.status();
  config.remote_rtp = *rtp;
  auto rtcp = ToAddress(offer.remote_rtcp(), "offer.remote_rtcp");
  if (!rtcp.ok()) return rtcp.status();
  config.remote_rtcp = *rtcp;
  if (!v1::RtcpMode_IsValid(offer.rtcp_mode())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offer.rtcp_mode ", offer.rtcp_mode(),
        " is not an RtcpMode (RTCP_MODE_MUX or RTCP_MODE_SEPARATE_PORT)"));
  }
  config.rtcp_mux = offer.rtcp_mode() != v1::RTCP_MODE_SEPARATE_PORT;
  config.asymmetric_rtp = offer.asymmetric_rtp();
  if (config.asymmetric_rtp && !config.remote_rtp) {
    return absl::InvalidArgumentError(
        "offer.asymmetric_rtp needs offer.remote_rtp: with no symmetric RTP "
        "there is nothing to learn the address from");
  }
  if (!offer.has_remote_key() ||
      offer.remote_key().suite() == v1::CRYPTO_SUITE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "offer.remote_key.suite is required (CRYPTO_SUITE_PLAIN_RTP for an "
        "unencrypted leg)");
  }
  if (offer.remote_key().suite() != v1::CRYPTO_SUITE_PLAIN_RTP) {
    auto key = RemoteKeyFromOffer(offer.remote_key());
    if (!key.ok()) return key.status();
    config.remote_key = *key;
  } else if (!offer.remote_key().inline_key().empty()) {
    return absl::InvalidArgumentError(
        "offer.remote_key.inline_key is set on a CRYPTO_SUITE_PLAIN_RTP leg: "
        "either name the key's SRTP suite or drop the key");
  }
  return config;
}

v1::MediaOffer OfferFromConfig(const LegConfig& config) {
  v1::MediaOffer offer;
  if (config.remote_rtp) {
    offer.mutable_remote_rtp()->set_address(config.remote_rtp->ip());
    offer.mutable_remote_rtp()->set_port(config.remote_rtp->port());
  }
  if (config.remote_rtcp) {
    offer.mutable_remote_rtcp()->set_address(config.remote_rtcp->ip());
    offer.mutable_remote_rtcp()->set_port(config.remote_rtcp->port());
  }
  offer.set_codec(config.codec == AudioCodec::kPcmu ? v1::CODEC_PCMU
                                                    : v1::CODEC_PCMA);
  offer.set_payload_type(config.payload_type);
  offer.set_telephone_event_payload_type(config.telephone_event_payload_type);
  offer.set_ptime_ms(static_cast<uint32_t>(config.ptime_ms));
  offer.set_asymmetric_rtp(config.asymmetric_rtp);
  // The remote key is a secret of the remote: never echoed; only its suite.
  offer.mutable_remote_key()->set_suite(
      config.remote_key ? FromSuite(config.remote_key->suite())
                        : v1::CRYPTO_SUITE_PLAIN_RTP);
  offer.set_rtcp_mode(config.rtcp_mux ? v1::RTCP_MODE_MUX
                                      : v1::RTCP_MODE_SEPARATE_PORT);
  return offer;
}

void FillQuality(const LegStats& stats, v1::MediaQuality* quality);

void FillLeg(const LegDescription& leg, bool with_local_key, v1::Leg* out) {
  out->set_room_id(leg.room_id);
  out->set_leg_id(leg.leg_id);
  *out->mutable_offer() = OfferFromConfig(leg.config);
  v1::MediaAnswer* answer = out->mutable_answer();
  answer->mutable_local_rtp()->set_address(leg.media_ip);
  answer->mutable_local_rtp()->set_port(leg.rtp_port);
  if (!leg.config.rtcp_mux) {
    answer->mutable_local_rtcp()->set_address(leg.media_ip);
    answer->mutable_local_rtcp()->set_port(leg.rtcp_port);
  }
  answer->set_codec(leg.config.codec == AudioCodec::kPcmu ? v1::CODEC_PCMU
                                                          : v1::CODEC_PCMA);
  answer->set_payload_type(leg.config.payload_type);
  answer->set_telephone_event_payload_type(
      leg.config.telephone_event_payload_type);
  answer->set_ptime_ms(static_cast<uint32_t>(leg.config.ptime_ms));
  answer->set_rtcp_mode(leg.config.rtcp_mux ? v1::RTCP_MODE_MUX
                                            : v1::RTCP_MODE_SEPARATE_PORT);
  if (leg.config.local_key) {
    answer->mutable_local_key()->set_suite(
        FromSuite(leg.config.local_key->suite()));
    if (with_local_key) {
      answer->mutable_local_key()->set_inline_key(
          KeyToProto(*leg.config.local_key));
      answer->set_sdp(AnswerSdp(leg));
    }
  } else {
    answer->mutable_local_key()->set_suite(v1::CRYPTO_SUITE_PLAIN_RTP);
    answer->set_sdp(AnswerSdp(leg));
  }
  if (leg.latched_remote) {
    out->mutable_latched_remote()->set_address(leg.latched_remote->ip());
    out->mutable_latched_remote()->set_port(leg.latched_remote->port());
  }
  FillQuality(leg.stats, out->mutable_quality());
}

void FillQuality(const LegStats& stats, v1::MediaQuality* quality) {
  quality->set_packets_received(stats.packets_received);
  quality->set_bytes_received(stats.bytes_received);
  quality->set_packets_sent(stats.packets_sent);
  quality->set_bytes_sent(stats.bytes_sent);
  quality->set_packets_lost(stats.packets_lost);
  const double expected = static_cast<double>(stats.packets_expected);
  quality->set_loss_ratio(expected > 0 && stats.packets_lost > 0
                              ? static_cast<double>(stats.packets_lost) /
                                    expected
                              : 0.0);
  quality->set_jitter_ms(stats.jitter_ms);
  quality->set_rtt_ms(stats.rtt_ms);
  quality->set_remote_loss_ratio(stats.remote_fraction_lost);
  quality->set_remote_jitter_ms(stats.remote_jitter_ms);
  codec::EModelInput input;
  input.packet_loss_percent = quality->loss_ratio() * 100.0;
  input.jitter_ms = stats.jitter_ms;
  input.round_trip_ms = stats.rtt_ms;
  // A leg that has heard nothing has no quality to estimate, not a
  // perfect one.
  quality->set_mos(
      stats.packets_received > 0 ? codec::EstimateG711Quality(input).mos : 0.0);
  for (int i = 0; i < kDropReasonCount; ++i) {
    if (stats.drops[i] == 0) continue;
    (*quality->mutable_packets_dropped())[std::string(
        DropReasonName(static_cast<DropReason>(i)))] = stats.drops[i];
  }
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  return google::protobuf::util::TimeUtil::MicrosecondsToDuration(
      absl::ToInt64Microseconds(d));
}

}  // namespace

template <typename Request, typename Response, typename Run>
grpc::Status MediaService::Once(absl::string_view method,
                                const Request& request, Response* response,
                                Run run) {
  if (request.request_id().empty()) {
    return Invalid(
        "request_id is required: an idempotency key (a UUID is ideal); "
        "a retry with the same id returns the first answer");
  }
  if (request.request_id().size() > 256) {
    return Invalid("request_id must be at most 256 characters");
  }
  // The request without its id, serialised deterministically: what a retry
  // must repeat.
  Request body = request;
  body.clear_request_id();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    body.SerializeToCodedStream(&out);
  }
  std::lock_guard<std::mutex> lock(mutations_mutex_);
  absl::StatusOr<std::optional<std::string>> answer =
      answers_.Find(request.request_id(), method, bytes, absl::Now());
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  if (answer->has_value()) {
    response->ParseFromString(**answer);
    return grpc::Status::OK;
  }
  grpc::Status status = run();
  if (status.ok()) {
    answers_.Store(request.request_id(), method, bytes,
                   response->SerializeAsString(), absl::Now());
  }
  return status;
}

std::string AnswerSdp(const LegDescription& leg) {
  const bool srtp = leg.config.local_key.has_value();
  const bool v6 = leg.media_ip.find(':') != std::string::npos;
  std::string sdp =
      absl::StrCat("m=audio ", leg.rtp_port, srtp ? " RTP/SAVP " : " RTP/AVP ",
                   leg.config.payload_type);
  if (leg.config.telephone_event_payload_type != 0) {
    absl::StrAppend(&sdp, " ", leg.config.telephone_event_payload_type);
  }
  absl::StrAppend(&sdp, "\r\nc=IN ", v6 ? "IP6 " : "IP4 ", leg.media_ip,
                  "\r\na=rtpmap:", leg.config.payload_type, " ",
                  AudioCodecName(leg.config.codec), "/8000\r\n");
  if (leg.config.telephone_event_payload_type != 0) {
    absl::StrAppend(&sdp, "a=rtpmap:", leg.config.telephone_event_payload_type,
                    " telephone-event/8000\r\na=fmtp:",
                    leg.config.telephone_event_payload_type, " 0-16\r\n");
  }
  absl::StrAppend(&sdp, "a=ptime:", leg.config.ptime_ms, "\r\n");
  if (leg.config.rtcp_mux) {
    absl::StrAppend(&sdp, "a=rtcp-mux\r\n");
  } else {
    absl::StrAppend(&sdp, "a=rtcp:", leg.rtcp_port, "\r\n");
  }
  if (srtp) {
    absl::StrAppend(&sdp, "a=crypto:1 ",
                    srtp::SrtpCryptoSuiteName(leg.config.local_key->suite()),
                    " ", leg.config.local_key->ToSdesKeyParams(), "\r\n");
  }
  absl::StrAppend(&sdp, "a=sendrecv\r\n");
  return sdp;
}

grpc::Status MediaService::AddLeg(grpc::ServerContext*,
                                  const v1::AddLegRequest* request,
                                  v1::Leg* response) {
  return Once("AddLeg", *request, response,
              [&] { return AddLegOnce(request, response); });
}

grpc::Status MediaService::AddLegOnce(const v1::AddLegRequest* request,
                                      v1::Leg* response) {
  if (request->room_id().empty()) return Invalid("room_id is required");
  if (request->leg_id().empty()) return Invalid("leg_id is required");
  if (!request->has_offer()) return Invalid("offer is required");
  auto config = ConfigFromOffer(request->offer(), request->leg_id());
  if (!config.ok()) return ToGrpcStatus(config.status());
  LegSpec spec;
  spec.room_id = request->room_id();
  spec.leg_id = request->leg_id();
  spec.config = *config;
  spec.request_id = request->request_id();
  if (request->local_suite() != v1::CRYPTO_SUITE_UNSPECIFIED) {
    if (!spec.config.remote_key) {
      return Invalid("local_suite set on a plain-RTP leg");
    }
    spec.local_suite = ToSuite(request->local_suite());
    if (!spec.local_suite) return Invalid("local_suite is not an SRTP suite");
  }
  auto leg = engine_->AddLeg(std::move(spec));
  if (!leg.ok()) return ToGrpcStatus(leg.status());
  FillLeg(*leg, /*with_local_key=*/true, response);
  return grpc::Status::OK;
}

grpc::Status MediaService::UpdateLeg(grpc::ServerContext*,
                                     const v1::UpdateLegRequest* request,
                                     v1::Leg* response) {
  return Once("UpdateLeg", *request, response,
              [&] { return UpdateLegOnce(request, response); });
}

grpc::Status MediaService::UpdateLegOnce(const v1::UpdateLegRequest* request,
                                         v1::Leg* response) {
  if (request->room_id().empty() || request->leg_id().empty()) {
    return Invalid("room_id and leg_id are required");
  }
  const v1::MediaOffer& offer = request->offer();
  LegUpdate update;
  if (offer.codec() == v1::CODEC_PCMU) update.codec = AudioCodec::kPcmu;
  if (offer.codec() == v1::CODEC_PCMA) update.codec = AudioCodec::kPcma;
  if (offer.payload_type() > 127 ||
      offer.telephone_event_payload_type() > 127) {
    return Invalid("payload types must be 0-127");
  }
  if (offer.payload_type() != 0) {
    update.payload_type = static_cast<uint8_t>(offer.payload_type());
  } else if (update.codec) {
    update.payload_type = *update.codec == AudioCodec::kPcmu ? 0 : 8;
  }
  if (offer.telephone_event_payload_type() != 0) {
    update.telephone_event_payload_type =
        static_cast<uint8_t>(offer.telephone_event_payload_type());
  }
  absl::Status ptime = ValidatePtime(offer.ptime_ms());
  if (!ptime.ok()) return ToGrpcStatus(ptime);
  if (offer.ptime_ms() != 0)
    update.ptime_ms = static_cast<int>(offer.ptime_ms());
  auto rtp = ToAddress(offer.remote_rtp(), "offer.remote_rtp");
  if (!rtp.ok()) return ToGrpcStatus(rtp.status());
  update.remote_rtp = *rtp;
  auto rtcp = ToAddress(offer.remote_rtcp(), "offer.remote_rtcp");
  if (!rtcp.ok()) return ToGrpcStatus(rtcp.status());
  update.remote_rtcp = *rtcp;
  if (offer.rtcp_mode() != v1::RTCP_MODE_UNSPECIFIED ||
      offer.asymmetric_rtp()) {
    return Invalid(
        "offer.rtcp_mode and offer.asymmetric_rtp cannot change in UpdateLeg; "
        "remove the leg and add it again");
  }
  if (offer.remote_key().suite() == v1::CRYPTO_SUITE_UNSPECIFIED &&
      !offer.remote_key().inline_key().empty()) {
    return Invalid(
        "offer.remote_key.suite is required with a new inline_key (the key's "
        "SRTP suite)");
  }
  if (offer.remote_key().suite() == v1::CRYPTO_SUITE_PLAIN_RTP) {
    return Invalid(
        "offer.remote_key: a leg cannot change between SRTP and plain RTP in "
        "place (that would downgrade or upgrade what was negotiated); remove "
        "the leg and add it again");
  }
  if (offer.has_remote_key() &&
      offer.remote_key().suite() != v1::CRYPTO_SUITE_UNSPECIFIED) {
    auto key = RemoteKeyFromOffer(offer.remote_key());
    if (!key.ok()) return ToGrpcStatus(key.status());
    update.remote_key = *key;
  }
  update.rotate_local_key = request->rotate_local_key();
  auto leg = engine_->UpdateLeg(request->room_id(), request->leg_id(), update);
  if (!leg.ok()) return ToGrpcStatus(leg.status());
  FillLeg(*leg, /*with_local_key=*/request->rotate_local_key(), response);
  return grpc::Status::OK;
}

grpc::Status MediaService::RemoveLeg(grpc::ServerContext*,
                                     const v1::RemoveLegRequest* request,
                                     v1::RemoveLegResponse* response) {
  return Once("RemoveLeg", *request, response, [&] {
    auto stats = engine_->RemoveLeg(request->room_id(), request->leg_id());
    if (!stats.ok()) return ToGrpcStatus(stats.status());
    FillQuality(*stats, response->mutable_quality());
    return grpc::Status::OK;
  });
}

grpc::Status MediaService::SetRouting(grpc::ServerContext*,
                                      const v1::SetRoutingRequest* request,
                                      v1::SetRoutingResponse* response) {
  return Once("SetRouting", *request, response,
              [&] { return SetRoutingOnce(request, response); });
}

grpc::Status MediaService::SetRoutingOnce(const v1::SetRoutingRequest* request,
                                          v1::SetRoutingResponse* response) {
  if (request->room_id().empty()) return Invalid("room_id is required");
  std::vector<RoutingEntry> entries;
  for (const v1::RoutingEntry& entry : request->entries()) {
    entries.push_back(
        {entry.source_leg_id(), entry.sink_leg_id(), entry.gain()});
  }
  auto result = engine_->SetRouting(request->room_id(), entries,
                                    request->expected_generation());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_generation(result->generation);
  *response->mutable_effective_media_time() =
      ToProtoDuration(result->effective_media_time);
  return grpc::Status::OK;
}

grpc::Status MediaService::PlayAudio(grpc::ServerContext*,
                                     const v1::PlayAudioRequest* request,
                                     v1::PlayAudioResponse* response) {
  return Once("PlayAudio", *request, response,
              [&] { return PlayAudioOnce(request, response); });
}

grpc::Status MediaService::PlayAudioOnce(const v1::PlayAudioRequest* request,
                                         v1::PlayAudioResponse* response) {
  if (request->sink_leg_ids().empty())
    return Invalid("sink_leg_ids is required");
  std::vector<std::string> sinks(request->sink_leg_ids().begin(),
                                 request->sink_leg_ids().end());
  std::optional<ClipPlayer> clip;
  if (request->has_tone()) {
    const auto& tone = request->tone();
    if (tone.frequency_hz() < 100 || tone.frequency_hz() > 4000) {
      return Invalid("tone.frequency_hz must be 100-4000");
    }
    const int64_t ms = google::protobuf::util::TimeUtil::DurationToMilliseconds(
        tone.duration());
    const int64_t gap =
        google::protobuf::util::TimeUtil::DurationToMilliseconds(tone.gap());
    const double level = tone.has_level_dbfs() ? tone.level_dbfs() : -16.0;
    if (!(level >= -60 && level <= 0)) {  // NaN included
      return Invalid("tone.level_dbfs must be -60..0");
    }
    if (ms <= 0 || ms > 10'000)
      return Invalid("tone.duration must be 1 ms to 10 s");
    if (level < -60 || level > 0)
      return Invalid("tone.level_dbfs must be -60..0");
    if (tone.repeat() > 20 || gap < 0 || gap > 10'000) {
      return Invalid("tone.repeat must be <= 20 and tone.gap <= 10 s");
    }
    clip = ClipPlayer::Tone(
        static_cast<int>(tone.frequency_hz()), static_cast<int>(ms), level,
        static_cast<int>(tone.repeat()), static_cast<int>(gap));
  } else if (!request->pcm_s16le_8k().empty()) {
    const std::string& pcm = request->pcm_s16le_8k();
    if (pcm.size() % 2 != 0 || pcm.size() > 30 * 8000 * 2) {
      return Invalid("pcm_s16le_8k must be whole 16-bit samples, at most 30 s");
    }
    std::vector<int16_t> samples(pcm.size() / 2);
    for (size_t i = 0; i < samples.size(); ++i) {
      samples[i] = static_cast<int16_t>(
          static_cast<uint8_t>(pcm[2 * i]) |
          (static_cast<uint16_t>(static_cast<uint8_t>(pcm[2 * i + 1])) << 8));
    }
    clip = ClipPlayer::Pcm(std::move(samples));
  } else {
    return Invalid("one of tone or pcm_s16le_8k is required");
  }
  auto duration = engine_->PlayClip(request->room_id(), sinks, *clip);
  if (!duration.ok()) return ToGrpcStatus(duration.status());
  *response->mutable_duration() = ToProtoDuration(*duration);
  return grpc::Status::OK;
}

grpc::Status MediaService::DeleteRoom(grpc::ServerContext*,
                                      const v1::DeleteRoomRequest* request,
                                      v1::DeleteRoomResponse* response) {
  return Once("DeleteRoom", *request, response, [&] {
    return ToGrpcStatus(engine_->DeleteRoom(request->room_id()));
  });
}

grpc::Status MediaService::ListRooms(grpc::ServerContext*,
                                     const v1::ListRoomsRequest*,
                                     v1::ListRoomsResponse* response) {
  for (const RoomDescription& room : engine_->ListRooms()) {
    v1::Room* out = response->add_rooms();
    out->set_room_id(room.room_id);
    for (const LegDescription& leg : room.legs) {
      FillLeg(leg, /*with_local_key=*/false, out->add_legs());
    }
    for (const RoutingEntry& entry : room.routing) {
      v1::RoutingEntry* e = out->add_routing();
      e->set_source_leg_id(entry.source_leg_id);
      e->set_sink_leg_id(entry.sink_leg_id);
      e->set_gain(entry.gain);
    }
    out->set_routing_generation(room.routing_generation);
    *out->mutable_create_time() =
        google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
            absl::ToUnixMicros(room.create_time));
  }
  return grpc::Status::OK;
}

grpc::Status MediaService::GetStats(grpc::ServerContext*,
                                    const v1::GetStatsRequest* request,
                                    v1::GetStatsResponse* response) {
  auto stats = engine_->GetStats(request->room_id());
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  for (const RoomStatsDescription& room : *stats) {
    v1::RoomStats* out = response->add_rooms();
    out->set_room_id(room.room_id);
    out->set_frames_mixed(room.frames_mixed);
    out->set_frames_mixed_at_deadline(room.frames_mixed_at_deadline);
    for (const auto& [leg_id, leg] : room.legs) {
      FillQuality(leg, &(*out->mutable_legs())[leg_id]);
    }
  }
  return grpc::Status::OK;
}

grpc::Status MediaService::StreamTap(
    grpc::ServerContext* context, const v1::StreamTapRequest* request,
    grpc::ServerWriter<v1::TapMessage>* writer) {
  auto tap =
      engine_->OpenTap(request->room_id(), request->include_telephone_events());
  if (!tap.ok()) return ToGrpcStatus(tap.status());
  std::shared_ptr<TapQueue> queue = *tap;
  const absl::Time origin = absl::Now();
  TapItem item;
  v1::TapMessage message;
  std::array<std::string, kMaxRoomMembers> leg_ids;
  while (!context->IsCancelled() && !shutting_down_) {
    if (!queue->Pop(&item, 100'000)) {
      if (queue->closed()) break;  // room deleted
      continue;
    }
    message.Clear();
    // Leg ids by member, from the tap's own leg-change items (a reader may
    // be behind the engine, which can have forgotten or reused a member).
    std::string& known = leg_ids[static_cast<size_t>(item.member)];
    if (item.kind == TapItem::Kind::kLegAdded ||
        item.kind == TapItem::Kind::kLegRemoved) {
      known = item.leg_id.data();  // the id as it was when it happened
    } else if (known.empty()) {
      known = engine_->LegIdOf(request->room_id(), item.member);
    }
    const std::string leg_id = known;
    if (item.kind == TapItem::Kind::kLegRemoved) known.clear();
    const auto media_time =
        google::protobuf::util::TimeUtil::MicrosecondsToDuration(
            item.media_time);
    switch (item.kind) {
      case TapItem::Kind::kFrame: {
        v1::TapFrame* frame = message.mutable_frame();
        frame->set_source_leg_id(leg_id);
        *frame->mutable_media_time() = media_time;
        *frame->mutable_wall_time() =
            google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                absl::ToUnixMicros(origin) + item.media_time);
        frame->set_sample_rate_hz(kSampleRateHz);
        std::string pcm(kSamplesPerFrame * 2, '\0');
        for (int i = 0; i < kSamplesPerFrame; ++i) {
          const uint16_t s = static_cast<uint16_t>(item.samples[i]);
          pcm[2 * i] = static_cast<char>(s & 0xff);
          pcm[2 * i + 1] = static_cast<char>(s >> 8);
        }
        frame->set_pcm_s16le(std::move(pcm));
        frame->set_concealed(item.concealed);
        break;
      }
      case TapItem::Kind::kTelephoneEvent: {
        v1::TapTelephoneEvent* event = message.mutable_telephone_event();
        event->set_source_leg_id(leg_id);
        *event->mutable_media_time() = media_time;
        event->set_event(item.event.event);
        *event->mutable_duration() =
            google::protobuf::util::TimeUtil::MicrosecondsToDuration(
                int64_t{item.event.duration} * kMicrosPerSample);
        event->set_end(item.event.end);
        break;
      }
      case TapItem::Kind::kGap: {
        v1::TapGap* gap = message.mutable_gap();
        gap->set_source_leg_id(leg_id);
        *gap->mutable_media_time() = media_time;
        gap->set_frames_dropped(item.frames_dropped);
        if (item.gap_cause == TapItem::GapCause::kStreamRestart) {
          gap->set_reason("stream restart (SSRC change)");
        } else if (item.other_items_dropped > 0) {
          gap->set_reason(absl::StrCat(
              "reader too slow; also lost ", item.other_items_dropped,
              " telephone-event or leg-change messages"));
        } else {
          gap->set_reason("reader too slow");
        }
        break;
      }
      case TapItem::Kind::kLegAdded:
      case TapItem::Kind::kLegRemoved: {
        v1::TapLegChange* change = message.mutable_leg_change();
        change->set_leg_id(leg_id);
        change->set_added(item.kind == TapItem::Kind::kLegAdded);
        *change->mutable_media_time() = media_time;
        break;
      }
    }
    if (!writer->Write(message)) break;
  }
  queue->Close();
  return grpc::Status::OK;
}

MediaService::MediaService(Engine* engine)
    : engine_(engine), drain_deadline_([this] { EndRoomsAtDrainDeadline(); }) {}

void MediaService::Shutdown() {
  shutting_down_ = true;
  drain_deadline_.Stop();
}

void MediaService::EndRoomsAtDrainDeadline() {
  const int remaining = engine_->Status().active_rooms;
  if (remaining > 0) {
    service_kit::LogWarning("drain deadline reached; ending remaining rooms",
                            {{"rooms", std::to_string(remaining)}});
  }
  engine_->DeleteAllRooms();
}

grpc::Status MediaService::Drain(grpc::ServerContext*,
                                 const v1::DrainRequest* request,
                                 v1::DrainResponse* response) {
  absl::Duration deadline = kDefaultDrainDeadline;
  if (request->has_deadline()) {
    const auto& d = request->deadline();
    if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999'999'999) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("deadline must be a non-negative duration; got ",
                       d.seconds(), "s ", d.nanos(), "ns")));
    }
    deadline = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  }
  int remaining = engine_->StartDrain();
  if (deadline <= absl::ZeroDuration()) {
    // "After no time at all": end the rooms before answering.
    EndRoomsAtDrainDeadline();
    remaining = engine_->Status().active_rooms;
  } else if (remaining > 0) {
    drain_deadline_.Arm(absl::Now() + deadline);
  }
  service_kit::LogInfo("draining (Drain RPC): no new rooms",
                       {{"rooms", std::to_string(remaining)},
                        {"deadline", absl::FormatDuration(deadline)}});
  response->set_rooms_remaining(static_cast<uint32_t>(remaining));
  return grpc::Status::OK;
}

grpc::Status MediaService::GetEngineInfo(grpc::ServerContext*,
                                         const v1::GetEngineInfoRequest*,
                                         v1::EngineInfo* response) {
  const EngineOptions& options = engine_->options();
  const EngineStatus status = engine_->Status();
  response->set_engine_id(options.engine_id);
  response->set_media_address(options.media_ip);
  response->set_capacity_rooms(static_cast<uint32_t>(options.capacity_rooms));
  response->set_active_rooms(static_cast<uint32_t>(status.active_rooms));
  response->set_active_legs(static_cast<uint32_t>(status.active_legs));
  response->set_draining(status.draining);
  response->set_workers(static_cast<uint32_t>(options.workers));
  response->add_crypto_suites(v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80);
  response->add_crypto_suites(v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32);
  if (srtp::SrtpAeadAes128GcmSupported()) {
    response->add_crypto_suites(v1::CRYPTO_SUITE_AEAD_AES_128_GCM);
  }
  response->add_crypto_suites(v1::CRYPTO_SUITE_PLAIN_RTP);
  response->add_codecs(v1::CODEC_PCMU);
  response->add_codecs(v1::CODEC_PCMA);
  response->set_port_min(options.port_min);
  response->set_port_max(options.port_max);
  return grpc::Status::OK;
}

}  // namespace sotto::media
