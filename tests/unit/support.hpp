// Small helpers shared by the unit tests: readable assertion messages, a
// temporary directory, running a program and capturing its output.
#pragma once
#include <criterion/criterion.h>

#include <string>
#include <string_view>
#include <vector>

namespace unit {

// Escapes control bytes so a failing message shows what the bytes were.
std::string show(std::string_view s);

// Standard base64, written here so tests do not check the library's encoder
// against itself.
std::string base64(std::string_view bytes);
// Its inverse, for pasted keys; aborts the test on malformed input.
std::string unbase64(std::string_view text);

// A fresh directory under $TMPDIR (or /tmp), removed with its files.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

bool write_file(const std::string &path, std::string_view data);
std::string read_file(const std::string &path);

struct RunResult {
    int status = -1; // exit code, or -1 when it did not exit normally
    std::string out; // stdout (stderr goes to the test's stderr)
};

// Runs argv[0] (searched in PATH) with extra "NAME=value" environment
// entries; gives up after timeout_ms and kills it.
RunResult run(const std::vector<std::string> &argv, const std::vector<std::string> &env = {},
              int timeout_ms = 10000);

} // namespace unit

#define EXPECT_STR_EQ(actual, expected)                                                           \
    do {                                                                                          \
        const std::string unit_a_(actual), unit_e_(expected);                                     \
        cr_expect(unit_a_ == unit_e_, "%s: got \"%s\", want \"%s\"", #actual,                     \
                  unit::show(unit_a_).c_str(), unit::show(unit_e_).c_str());                      \
    } while (0)

#define ASSERT_STR_EQ(actual, expected)                                                           \
    do {                                                                                          \
        const std::string unit_a_(actual), unit_e_(expected);                                     \
        cr_assert(unit_a_ == unit_e_, "%s: got \"%s\", want \"%s\"", #actual,                     \
                  unit::show(unit_a_).c_str(), unit::show(unit_e_).c_str());                      \
    } while (0)
