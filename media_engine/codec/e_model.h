// Estimated call quality (R factor and MOS) of a G.711 leg from its network
// statistics: a simplified ITU-T G.107 E-model.
//
//   R   = 93.2 - Id - Ie_eff            (G.107 defaults give Ro - Is = 93.2,
//                                        advantage factor A = 0)
//   Ta  = RTT/2 + 2 * jitter + 20 ms    (one-way mouth-to-ear delay: network,
//                                        an adaptive jitter buffer sized at
//                                        twice the jitter, one 20 ms packet)
//   Id  = 0.024 Ta + 0.11 (Ta - 177.3) H(Ta - 177.3)
//                                       (Cole & Rosenbluth's fit of G.107's
//                                        delay impairment, echo-free)
//   Ie_eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)    (G.107 eq. 7-29)
//            with G.711: Ie = 0; Bpl = 25.1 with packet-loss concealment,
//            4.3 without (G.113 Appendix I); BurstR = 1 for random loss.
//   MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6 for 0 < R < 100,
//         1 below, 4.5 above (G.107 Annex B), and never below 1 (the
//         cubic dips slightly under 1 for R < 6.5).
//
// Gives 4.40 for a clean leg, about 4.3 at 1 % loss, 2.6 at 20 %.
#ifndef SOTTO_MEDIA_ENGINE_CODEC_E_MODEL_H_
#define SOTTO_MEDIA_ENGINE_CODEC_E_MODEL_H_

namespace sotto::media::codec {

struct EModelInput {
  double packet_loss_percent = 0;  // 0..100
  double jitter_ms = 0;            // RFC 3550 interarrival jitter
  double round_trip_ms = 0;        // from RTCP LSR/DLSR
  bool packet_loss_concealment = true;
  double burst_ratio = 1;  // 1 = random loss; > 1 = bursty
};

struct EModelResult {
  double r_factor = 0;
  double mos = 0;
};

// Pure function; out-of-range inputs are clamped.
EModelResult EstimateG711Quality(const EModelInput& input);

// G.107 Annex B mapping of an R factor to an estimated MOS (1.0 .. 4.5).
double MosFromRFactor(double r_factor);

}  // namespace sotto::media::codec

#endif  // SOTTO_MEDIA_ENGINE_CODEC_E_MODEL_H_
