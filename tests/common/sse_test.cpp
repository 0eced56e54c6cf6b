// The SSE framer (common/sse.hpp): whole events cut at blank lines under every line-ending mix,
// the same pieces whatever the reads, bytes untouched, oversized events and tails given out as
// non-events.
#include "common/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace faultline {
namespace {

using Pieces = std::vector<std::pair<std::string, bool>>;

Pieces frame(const std::vector<std::string>& reads, std::size_t max_event = kMaxSseEvent) {
  SseFramer framer(max_event);
  std::vector<SsePiece> out;
  for (const std::string& r : reads)
    framer.feed(r, out);
  framer.finish(out);
  Pieces pieces;
  for (SsePiece& p : out)
    pieces.emplace_back(std::move(p.bytes), p.event);
  return pieces;
}

std::string joined(const Pieces& pieces) {
  std::string all;
  for (const auto& p : pieces)
    all += p.first;
  return all;
}

TEST(SseFramer, CutsAtBlankLinesOfEveryLineEnding) {
  EXPECT_EQ(frame({"data: a\n\ndata: b\n\n"}),
            (Pieces{{"data: a\n\n", true}, {"data: b\n\n", true}}));
  EXPECT_EQ(frame({"data: a\r\n\r\nid: 2\r\ndata: b\r\n\r\n"}),
            (Pieces{{"data: a\r\n\r\n", true}, {"id: 2\r\ndata: b\r\n\r\n", true}}));
  EXPECT_EQ(frame({"data: a\r\rdata: b\r\r"}),
            (Pieces{{"data: a\r\r", true}, {"data: b\r\r", true}}));
  // Mixed: LF then CRLF, CR then LF-as-part-of-CRLF, CRLF then CR.
  EXPECT_EQ(frame({"data: a\n\r\ndata: b\r\n\rdata: c\r\n\n"}),
            (Pieces{{"data: a\n\r\n", true}, {"data: b\r\n\r", true}, {"data: c\r\n\n", true}}));
  // A comment-only event (a heart-beat) is an event; lone blank lines are not.
  EXPECT_EQ(frame({"\n: ping\n\n\ndata: x\n\n"}),
            (Pieces{{"\n", false}, {": ping\n\n", true}, {"\n", false}, {"data: x\n\n", true}}));
}

TEST(SseFramer, UnterminatedTailFlushedAtFinishAsNonEvent) {
  EXPECT_EQ(frame({"data: a\n\ndata: b\n"}), (Pieces{{"data: a\n\n", true}, {"data: b\n", false}}));
  // An event whose closing CR is the body's last byte is whole.
  EXPECT_EQ(frame({"data: a\r\r"}), (Pieces{{"data: a\r\r", true}}));
  EXPECT_EQ(frame({""}), Pieces{});
}

TEST(SseFramer, EventEndingInCrWaitsForTheNextByte) {
  SseFramer framer;
  std::vector<SsePiece> out;
  framer.feed("data: a\r\n\r", out);
  EXPECT_TRUE(out.empty());  // an LF may follow
  framer.feed("\n", out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].bytes, "data: a\r\n\r\n");
  framer.feed("data: b\r\r", out);
  EXPECT_EQ(out.size(), 1U);
  framer.feed("d", out);  // not an LF: the event is out, "d" starts the next
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].bytes, "data: b\r\r");
  EXPECT_EQ(framer.held(), 1U);
}

TEST(SseFramer, EverySplitGivesTheSamePieces) {
  const std::vector<std::string> corpus = {
      "data: a\n\ndata: b\n\n",
      "data: a\r\n\r\nid: 2\r\ndata: b\r\n\r\n: c\r\n\r\n",
      "data: a\r\rdata: b\r\r\r",
      "data: a\n\r\ndata: b\r\n\rdata: c\r\n\ndata: d\r\r\n",
      "\n\r\n\r\r\n: x\n\nevent: e\ndata: y\n",
      "data: \xff\x00\xfe\n\ndata: z",
  };
  for (const std::string& input : corpus) {
    const Pieces whole = frame({input});
    EXPECT_EQ(joined(whole), input);
    for (std::size_t a = 0; a <= input.size(); ++a) {
      for (std::size_t b = a; b <= input.size(); ++b) {
        const Pieces split = frame({input.substr(0, a), input.substr(a, b - a), input.substr(b)});
        ASSERT_EQ(split, whole) << "input " << testing::PrintToString(input) << " split at " << a
                                << "," << b;
      }
    }
  }
}

TEST(SseFramer, OversizedEventGoesOutAsNonEventPiecesAndIsCounted) {
  SseFramer framer(10);
  std::vector<SsePiece> out;
  framer.feed("data: 0123456789", out);
  EXPECT_LE(framer.held(), 10U);
  framer.feed("abc\n\ndata: x\n\n", out);
  framer.finish(out);
  std::string all;
  for (const SsePiece& p : out)
    all += p.bytes;
  EXPECT_EQ(all, "data: 0123456789abc\n\ndata: x\n\n");
  ASSERT_GE(out.size(), 2U);
  for (std::size_t i = 0; i + 1 < out.size(); ++i)
    EXPECT_FALSE(out[i].event) << i;
  EXPECT_TRUE(out.back().event);
  EXPECT_EQ(out.back().bytes, "data: x\n\n");
  EXPECT_EQ(framer.oversized_events(), 1U);
}

TEST(SseFramer, EventOfExactlyTheBoundIsWhole) {
  EXPECT_EQ(frame({"data: 1\n\n"}, 9), (Pieces{{"data: 1\n\n", true}}));
  EXPECT_EQ(frame({"data: 1\r\r\n"}, 9), (Pieces{{"data: 1\r\r\n", true}}));  // CR LF: one end
  EXPECT_EQ(frame({"data: 12\n\n"}, 9), (Pieces{{"data: 12\n", false}, {"\n", false}}));
}

TEST(SseFramer, HoldsAtMostTheBoundOnAnEndlessLine) {
  SseFramer framer(1024);
  std::vector<SsePiece> out;
  const std::string chunk(700, 'x');
  for (int i = 0; i < 100; ++i) {
    framer.feed(chunk, out);
    EXPECT_LE(framer.held(), 1024U);
  }
  EXPECT_EQ(framer.oversized_events(), 1U);
}

}  // namespace
}  // namespace faultline
