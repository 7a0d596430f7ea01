// Watches the heap for secrets: every block freed while watching is searched
// for the bytes given to watch() before it goes back to the allocator, and
// the blocks still live can be searched too. It sees the C++ heap (global
// operator new/delete, so std::string and std::vector) and OpenSSL's
// (CRYPTO_set_mem_functions, which only works before OpenSSL's first
// allocation: call start() first thing in a test; Criterion runs each test
// in a process of its own).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace heapwatch {

// Installs OpenSSL's hooks (false if OpenSSL already allocated) and starts
// watching. Forgets earlier needles and findings.
bool start();
// A secret to look for, as given and byte-reversed (BIGNUMs are kept
// little-endian inside OpenSSL). At least 8 bytes.
void watch(std::string_view secret);
// Frees by OpenSSL from source files whose names contain this (a static
// string) are not counted.
void ignore_frees_in(const char *source_file);
// Blocks freed (or moved by realloc) while they still held a secret, and a
// note of where the first ones were freed.
size_t freed_with_secret();
const std::string &findings();
// Live blocks that hold a secret now.
size_t live_with_secret();
void stop();

} // namespace heapwatch
