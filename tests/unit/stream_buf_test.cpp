// StreamBuf: line splitting, the limit, borrowed lines, raw reads.
#include "stream_buf_support.hpp"
#include "support.hpp"

using pssh::StreamBuf;
using unit::feed;
using unit::take_lines;

namespace {

// Feeds all of data in commits of `chunk`, taking lines whenever the buffer
// refuses more (as a reader that keeps up would), then the rest at EOF.
std::vector<std::string> pump(StreamBuf &b, std::string_view data, size_t chunk)
{
    std::vector<std::string> out;
    size_t done = 0;
    for (int guard = 0; done < data.size(); guard++) {
        cr_assert(guard < 1000000, "no progress at %zu of %zu bytes", done, data.size());
        size_t n = feed(b, data.substr(done), chunk);
        done += n;
        for (std::string &l : take_lines(b, false))
            out.push_back(std::move(l));
    }
    for (std::string &l : take_lines(b, true))
        out.push_back(std::move(l));
    return out;
}

std::string pattern(size_t n)
{
    std::string s;
    for (size_t i = 0; i < n; i++)
        s += char('a' + i % 26);
    return s;
}

} // namespace

Test(stream_buf, lines_across_one_byte_commits)
{
    StreamBuf b(1024);
    const std::string data = "hello\nworld\n\nand more\n";
    std::vector<std::string> got;
    for (char c : data) {
        cr_assert_eq(feed(b, std::string_view(&c, 1), 1), 1u);
        const bool ready = b.has_line(false);
        std::vector<std::string> lines = take_lines(b, false);
        cr_expect_eq(ready, !lines.empty(), "has_line(false)=%d but take_line gave %zu lines", ready, lines.size());
        got.insert(got.end(), lines.begin(), lines.end());
    }
    EXPECT_STR_EQ(unit::join_lines(got), "[hello][world][][and more]");
    cr_expect(b.empty());
}

Test(stream_buf, crlf_is_stripped_only_before_newline)
{
    StreamBuf b(1024);
    feed(b, "a\r\nb\r\n\r\nc\rd\n\r\r\n", 3);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[a][b][][c\rd][\r]");
    // A "\r\n" split across two commits.
    feed(b, "x\r", 100);
    cr_expect(take_lines(b, false).empty());
    feed(b, "\n", 100);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[x]");
}

Test(stream_buf, last_line_without_newline_at_eof)
{
    StreamBuf b(1024);
    feed(b, "x\nlast", 100);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[x]");
    cr_expect(!b.has_line(false));
    cr_expect(b.has_line(true));
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, true)), "[last]");
    cr_expect(b.empty());
    cr_expect(!b.has_line(true), "an empty buffer has no line, even at EOF");
    const char *line;
    size_t len;
    cr_expect(!b.take_line(true, &line, &len));
    // At EOF a trailing "\r" without "\n" is data, not a line ending.
    feed(b, "end\r", 100);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, true)), "[end\r]");
}

Test(stream_buf, long_lines_come_out_in_limit_sized_pieces)
{
    StreamBuf b(8);
    const std::string data = "0123456789abcdefghij\nshort\n" + pattern(17) + "\n";
    for (size_t chunk : {size_t(1), size_t(3), size_t(8), size_t(100)}) {
        StreamBuf c(8);
        EXPECT_STR_EQ(unit::join_lines(pump(c, data, chunk)),
                      "[01234567][89abcdef][ghij][short][abcdefgh][ijklmnop][q]");
    }
    // Growth past the first allocation (16 KiB) keeps every byte in order.
    StreamBuf big(100000);
    const std::string huge = pattern(250000);
    std::vector<std::string> pieces = pump(big, huge, 7000);
    cr_assert_eq(pieces.size(), 3u);
    cr_expect(pieces[0] == huge.substr(0, 100000) && pieces[1] == huge.substr(100000, 100000) &&
              pieces[2] == huge.substr(200000), "pieces differ from the input");
}

Test(stream_buf, full_at_the_limit)
{
    StreamBuf b(10);
    cr_expect(!b.full());
    cr_assert_eq(feed(b, "abcdefghijKLM", 100), 10u, "wrote past the limit");
    cr_expect(b.full());
    cr_expect_eq(b.size(), 10u);
    size_t avail = 12345;
    cr_expect_null(b.write_ptr(1, &avail), "write_ptr when full");
    char raw[3];
    cr_assert_eq(b.take(raw, 3), 3u);
    cr_expect(!b.full());
    char *p = b.write_ptr(100, &avail);
    cr_assert_not_null(p);
    cr_expect_eq(avail, 3u, "room beyond the limit: %zu", avail);
    // A zero limit holds nothing.
    StreamBuf zero(0);
    cr_expect(zero.full());
    cr_expect_null(zero.write_ptr(10, &avail));
}

Test(stream_buf, write_ptr_never_exceeds_the_limit)
{
    for (size_t limit : {size_t(1), size_t(5), size_t(1000), size_t(16384), size_t(40000)}) {
        StreamBuf b(limit);
        uint32_t rng = 12345;
        auto next = [&rng] { return rng = rng * 1103515245u + 12345u; };
        for (int i = 0; i < 2000; i++) {
            size_t want = 1 + next() % 60000;
            size_t before = b.size(), avail = 0;
            char *p = b.write_ptr(want, &avail);
            if (p) {
                cr_assert(avail >= 1 && avail <= want && before + avail <= limit,
                          "limit %zu size %zu want %zu: avail %zu", limit, before, want, avail);
                memset(p, 'z', avail);
                b.commit(avail);
            } else {
                cr_assert(b.full(), "limit %zu size %zu: refused while not full and not borrowed", limit, before);
            }
            cr_assert(b.size() <= limit);
            cr_assert_eq(b.full(), b.size() >= limit);
            if (next() % 3 == 0) {
                std::string sink(next() % (limit + 1), '\0');
                b.take(sink.data(), sink.size());
            }
        }
    }
}

Test(stream_buf, borrowed_line_survives_later_writes)
{
    // The buffer empties with the take: a reset to offset 0 would overwrite.
    {
        StreamBuf b(1 << 20);
        feed(b, "only line\n", 100);
        const char *line;
        size_t len;
        cr_assert(b.take_line(false, &line, &len));
        feed(b, "NEW DATA THAT WOULD OVERWRITE\n", 5);
        cr_expect(std::string(line, len) == "only line", "borrowed bytes became \"%s\"",
                  unit::show(std::string_view(line, len)).c_str());
        b.borrow_end();
        EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[NEW DATA THAT WOULD OVERWRITE]");
    }
    // The allocation is full: growing or compacting would move the line.
    {
        StreamBuf b(1 << 20);
        const std::string first = "first line";
        const std::string filler(16384 - first.size() - 1, 'x');
        cr_assert_eq(feed(b, first + "\n" + filler, 4096), 16384u);
        const char *line;
        size_t len;
        cr_assert(b.take_line(false, &line, &len));
        const std::string more = pattern(50000);
        size_t wrote = feed(b, more, 1000);
        cr_expect(std::string(line, len) == first, "borrowed bytes changed after %zu more bytes", wrote);
        b.borrow_end();
        wrote += feed(b, more.substr(wrote), 1000);
        cr_expect_eq(wrote, more.size(), "writes did not resume after borrow_end");
        std::string rest(b.size(), '\0');
        b.take(rest.data(), rest.size());
        cr_expect(rest == filler + more, "bytes lost or reordered around the borrow");
    }
    // drop() and take() while borrowed keep the line too.
    {
        StreamBuf b(64);
        feed(b, "keep me\nthen more", 100);
        const char *line;
        size_t len;
        cr_assert(b.take_line(false, &line, &len));
        b.drop();
        feed(b, "0123456789012345678901234567890123456789", 7);
        char sink[5];
        b.take(sink, sizeof sink);
        feed(b, "abcdefghijabcdefghij", 3);
        cr_expect(std::string(line, len) == "keep me", "borrowed bytes became \"%s\"",
                  unit::show(std::string_view(line, len)).c_str());
        b.borrow_end();
    }
}

Test(stream_buf, compaction_keeps_unscanned_newlines)
{
    // Fill the first 16 KiB block exactly, with a newline the reader has not
    // scanned yet; the next write compacts, and that newline must still count.
    StreamBuf b(1 << 20);
    const std::string middle(9000, 'm');
    const std::string tail(16384 - 6 - middle.size() - 1, 't');
    cr_assert_eq(feed(b, "first\n" + middle + "\n" + tail, 16384), 16384u);
    const char *line;
    size_t len;
    cr_assert(b.take_line(false, &line, &len));
    EXPECT_STR_EQ(std::string(line, len), "first");
    b.borrow_end();
    cr_assert_eq(feed(b, "\n", 1), 1u); // the block is full and its head is free: compacts
    const std::vector<std::string> lines = take_lines(b, false);
    cr_assert_eq(lines.size(), 2u, "got %zu lines after compaction", lines.size());
    cr_expect(lines[0] == middle && lines[1] == tail);
}

Test(stream_buf, take_gives_raw_bytes)
{
    StreamBuf b(1024);
    feed(b, "abc\r\ndef", 100);
    char buf[100];
    cr_assert_eq(b.take(buf, 2), 2u);
    EXPECT_STR_EQ(std::string(buf, 2), "ab");
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[c]");
    cr_assert_eq(b.take(buf, 100), 3u);
    EXPECT_STR_EQ(std::string(buf, 3), "def");
    cr_expect(b.empty());
    cr_expect_eq(b.take(buf, 100), 0u);
    // A line scan that found nothing, then a raw read of part of it: the
    // scan position must follow, and the newline still be found.
    feed(b, "abcdef", 100);
    cr_expect(!b.has_line(false));
    cr_assert_eq(b.take(buf, 4), 4u);
    feed(b, "g\nh\n", 100);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[efg][h]");
    // take(0) takes nothing.
    feed(b, "xy", 100);
    cr_expect_eq(b.take(buf, 0), 0u);
    cr_expect_eq(b.size(), 2u);
}

Test(stream_buf, drop_and_clear)
{
    StreamBuf b(32);
    feed(b, "a\nb\nc", 100);
    b.drop();
    cr_expect(b.empty());
    cr_expect(take_lines(b, true).empty());
    feed(b, "fresh\nline", 100);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, true)), "[fresh][line]");

    feed(b, "x\ny", 100);
    b.clear();
    cr_expect(b.empty());
    cr_expect_eq(b.limit(), 32u, "clear() must keep the limit");
    cr_expect(take_lines(b, true).empty());
    feed(b, "again\n", 2);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[again]");
}

Test(stream_buf, lowered_limit_splits_what_is_buffered)
{
    StreamBuf b(100);
    feed(b, "0123456789", 100);
    b.set_limit(4);
    cr_expect(b.full());
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[0123][4567]");
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, true)), "[89]");
}

// Regression (found by this suite): a line exactly `limit` bytes long, or
// any multiple, came out as its pieces and then an empty line when its "\n"
// arrived, and a "\r\n" split by the piece boundary left "\r" in the piece.
Test(stream_buf, line_of_exactly_limit_bytes_adds_no_empty_line)
{
    StreamBuf b(4);
    EXPECT_STR_EQ(unit::join_lines(pump(b, "abcd\nef\n", 1)), "[abcd][ef]");
    StreamBuf c(4);
    EXPECT_STR_EQ(unit::join_lines(pump(c, "abcdefgh\nij\n", 100)), "[abcd][efgh][ij]");
    StreamBuf d(4);
    EXPECT_STR_EQ(unit::join_lines(pump(d, "abcd\r\nx\n", 1)), "[abcd][x]");
    // A real empty line after the cut one stays.
    StreamBuf e(4);
    EXPECT_STR_EQ(unit::join_lines(pump(e, "abcd\n\nx", 2)), "[abcd][][x]");
}

Test(stream_buf, crlf_across_the_piece_boundary_stays_together)
{
    StreamBuf b(4);
    EXPECT_STR_EQ(unit::join_lines(pump(b, "abc\r\nx\n", 1)), "[abc][x]");
    // A "\r" that turns out not to start "\r\n" is data of the next line.
    StreamBuf c(4);
    EXPECT_STR_EQ(unit::join_lines(pump(c, "abc\rdef\n", 1)), "[abc][\rdef]");
    StreamBuf d(4);
    EXPECT_STR_EQ(unit::join_lines(pump(d, "abcd\rx\n", 3)), "[abcd][\rx]");
    // ... and at EOF.
    StreamBuf e(4);
    EXPECT_STR_EQ(unit::join_lines(pump(e, "abcd\r", 1)), "[abcd][\r]");
}

// What callers must allow for: a take_line that finds no line may still have
// dropped the "\r\n" of a cut line, so a full buffer has room again. A caller
// that resumes reading only after a line came out would stall here.
Test(stream_buf, failed_take_line_may_free_room)
{
    StreamBuf b(6);
    cr_assert_eq(feed(b, "abcde\r", 100), 6u);
    EXPECT_STR_EQ(unit::join_lines(take_lines(b, false)), "[abcde]");
    cr_assert_eq(feed(b, "\nwxyz!", 100), 5u); // "\r\nwxyz": full again
    cr_assert(b.full());
    const char *line;
    size_t len;
    cr_expect(!b.take_line(false, &line, &len));
    cr_expect(!b.full(), "the cut line's ending was dropped: there must be room");
    cr_expect_eq(b.size(), 4u);
}

// Regression (found by this suite): with a limit of 1, a "\r" right after a
// cut piece filled the buffer and skip_cut_end waited for the byte after it,
// which could never arrive: no line, no room, a hang until EOF.
Test(stream_buf, limit_one_with_cr_after_a_piece_makes_progress)
{
    StreamBuf b(1);
    EXPECT_STR_EQ(unit::join_lines(pump(b, "a\rb\n", 1)), "[a][\r][b]");
}

// Regression (found by the fuzzer): take() on a buffer that never allocated
// (or after clear()) called memcpy(dst, NULL, 0), undefined behaviour that
// only UBSan sees: this test fails under `make asan` if it comes back.
Test(stream_buf, take_on_a_fresh_buffer_is_defined)
{
    StreamBuf b(64);
    char buf[8];
    cr_expect_eq(b.take(buf, sizeof buf), 0u);
    feed(b, "x", 1);
    b.clear();
    cr_expect_eq(b.take(buf, sizeof buf), 0u);
}
