// A stand-in for NVRTC (libnvrtc.so.13) for the tests, beside fake_libcuda.cpp. It does
// not compile anything: it checks the options cudarc passes and returns "PTX" naming the
// target and the source's kernels, which only the fake driver loads.
//
// Settings, read from the environment:
//   FAKE_NVRTC_ERROR  fail the compilation with this error in the log
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

typedef int nvrtcResult;
enum {
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
};

struct Program {
    std::string src, name, log, ptx;
};

extern "C" {

const char* nvrtcGetErrorString(nvrtcResult r) {
    switch (r) {
        case NVRTC_SUCCESS: return "NVRTC_SUCCESS";
        case NVRTC_ERROR_INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
        case NVRTC_ERROR_INVALID_PROGRAM: return "NVRTC_ERROR_INVALID_PROGRAM";
        case NVRTC_ERROR_INVALID_OPTION: return "NVRTC_ERROR_INVALID_OPTION";
        case NVRTC_ERROR_COMPILATION: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR_INTERNAL_ERROR";
    }
}

nvrtcResult nvrtcVersion(int* major, int* minor) {
    if (!major || !minor) return NVRTC_ERROR_INVALID_INPUT;
    *major = 13;
    *minor = 0;
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcCreateProgram(Program** prog, const char* src, const char* name, int headers,
                               const char* const*, const char* const*) {
    if (!prog || !src || headers < 0) return NVRTC_ERROR_INVALID_INPUT;
    *prog = new Program{src, name ? name : "default_program", "", ""};
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcCompileProgram(Program* p, int n, const char* const* options) {
    if (!p) return NVRTC_ERROR_INVALID_PROGRAM;
    int arch = 52;  // NVRTC's default
    std::string fmad = "true";
    for (int i = 0; i < n; ++i) {
        const char* o = options[i];
        if (sscanf(o, "--gpu-architecture=compute_%d", &arch) == 1 ||
            sscanf(o, "-arch=compute_%d", &arch) == 1) {
        } else if (strncmp(o, "--fmad=", 7) == 0) {
            fmad = o + 7;
            if (fmad != "true" && fmad != "false") return NVRTC_ERROR_INVALID_OPTION;
        } else if (o[0] != '-') {
            p->log = std::string("nvrtc: error: unrecognized option ") + o + "\n";
            return NVRTC_ERROR_INVALID_OPTION;
        }
    }
    if (arch < 75) {  // CUDA 13 dropped the architectures before Turing
        p->log = "nvrtc: error: invalid value for --gpu-architecture (-arch)\n";
        return NVRTC_ERROR_INVALID_OPTION;
    }
    const char* fail = getenv("FAKE_NVRTC_ERROR");
    if (fail && *fail) {
        p->log = p->name + "(1): error: " + fail + "\n\n1 error detected in the compilation of \"" +
                 p->name + "\".\n";
        return NVRTC_ERROR_COMPILATION;
    }
    p->ptx = "//\n// fake PTX of the cnn-tutor test NVRTC\n// fmad=" + fmad + "\n//\n.version 9.0\n.target sm_" +
             std::to_string(arch) + "\n.address_size 64\n";
    const std::string key = "__global__ void ";
    for (size_t at = p->src.find(key); at != std::string::npos; at = p->src.find(key, at + 1)) {
        size_t b = at + key.size(), e = b;
        while (e < p->src.size() && (isalnum((unsigned char)p->src[e]) || p->src[e] == '_')) ++e;
        if (e > b) p->ptx += ".visible .entry " + p->src.substr(b, e - b) + "(\n";
    }
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetPTXSize(Program* p, size_t* n) {
    if (!p || !n) return NVRTC_ERROR_INVALID_INPUT;
    *n = p->ptx.size() + 1;
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetPTX(Program* p, char* out) {
    if (!p || !out) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(out, p->ptx.c_str(), p->ptx.size() + 1);
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetProgramLogSize(Program* p, size_t* n) {
    if (!p || !n) return NVRTC_ERROR_INVALID_INPUT;
    *n = p->log.size() + 1;
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcGetProgramLog(Program* p, char* out) {
    if (!p || !out) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(out, p->log.c_str(), p->log.size() + 1);
    return NVRTC_SUCCESS;
}

nvrtcResult nvrtcDestroyProgram(Program** p) {
    if (!p || !*p) return NVRTC_ERROR_INVALID_PROGRAM;
    delete *p;
    *p = nullptr;
    return NVRTC_SUCCESS;
}

}  // extern "C"
