// Replays committed fuzz inputs through a harness without libFuzzer, so the
// default build (gcc) runs every seed on every `meson test`: each file of
// each folder given is passed once to LLVMFuzzerTestOneInput, in name
// order. A harness reports a finding by aborting; the sanitizer setups
// catch memory errors on the same inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool read_file(const std::string &path, std::string &out)
{
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return false;
    char buf[65536];
    size_t n;
    out.clear();
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    const bool ok = !ferror(f);
    fclose(f);
    return ok;
}

// The regular files of a folder, or the path itself when it is a file.
bool inputs_of(const std::string &path, std::vector<std::string> &out)
{
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return false;
    if (!S_ISDIR(st.st_mode)) {
        out.push_back(path);
        return true;
    }
    DIR *d = opendir(path.c_str());
    if (!d)
        return false;
    std::vector<std::string> names;
    while (dirent *e = readdir(d)) {
        const std::string p = path + "/" + e->d_name;
        if (e->d_name[0] != '.' && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            names.push_back(p);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    out.insert(out.end(), names.begin(), names.end());
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    std::vector<std::string> files;
    for (int i = 1; i < argc; i++) {
        if (!inputs_of(argv[i], files)) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
    }
    if (files.empty()) {
        fprintf(stderr, "replay: no inputs (usage: replay DIR|FILE...)\n");
        return 1;
    }
    std::string data;
    for (const std::string &f : files) {
        if (!read_file(f, data)) {
            fprintf(stderr, "replay: cannot read %s\n", f.c_str());
            return 1;
        }
        printf("replay: %s (%zu bytes)\n", f.c_str(), data.size());
        fflush(stdout); // the last name printed is the input that crashed
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(data.data()), data.size());
    }
    printf("replay: %zu inputs, no finding\n", files.size());
    return 0;
}
