#include "exit_status.h"

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstring>

// sigabbrev_np()/sigdescr_np() arrived in glibc 2.32; they return static strings, which unlike
// strsignal()'s buffer are safe to use from several threads.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define WMAN_HAVE_SIGABBREV_NP 1
#endif

namespace wman::daemon {
namespace {

#ifndef WMAN_HAVE_SIGABBREV_NP
const char* signalAbbrevFromTable(int signo) {
  struct Entry {
    int signo;
    const char* name;
  };
  static constexpr Entry kTable[] = {
      {SIGHUP, "HUP"},       {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},
      {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},     {SIGFPE, "FPE"},
      {SIGKILL, "KILL"},     {SIGUSR1, "USR1"}, {SIGSEGV, "SEGV"},   {SIGUSR2, "USR2"},
      {SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},   {SIGCHLD, "CHLD"},
      {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},   {SIGTTIN, "TTIN"},
      {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},   {SIGXFSZ, "XFSZ"},
      {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},
      {SIGSYS, "SYS"},
  };
  for (const auto& entry : kTable) {
    if (entry.signo == signo) return entry.name;
  }
  return nullptr;
}
#endif

// The abbreviation without "SIG", or null when the number has none.
const char* signalAbbrev(int signo) {
#ifdef WMAN_HAVE_SIGABBREV_NP
  return ::sigabbrev_np(signo);
#else
  return signalAbbrevFromTable(signo);
#endif
}

}  // namespace

std::string describeSignal(int signo) {
  // Real-time signals have no abbreviation of their own; name them as kill -l does.
  std::string name;
  if (const char* abbrev = signalAbbrev(signo)) {
    name = std::string("SIG") + abbrev;
  } else if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
    name = "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
  } else {
    return "unknown signal";
  }

  std::string description;
#ifdef WMAN_HAVE_SIGABBREV_NP
  if (const char* text = ::sigdescr_np(signo)) description = text;
#endif
  if (description.empty()) {
    // Real-time signals have no sigdescr_np() text, and older glibc has no sigdescr_np() at all.
    if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
      description = "Real-time signal " + std::to_string(signo - SIGRTMIN);
    } else {
      description = ::strsignal(signo);
    }
  }
  return name + ": " + description;
}

std::string describeExit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const int signo = WTERMSIG(wait_status);
    std::string text =
        "killed by signal " + std::to_string(signo) + " (" + describeSignal(signo) + ")";
    if (WCOREDUMP(wait_status)) text += ", core dumped";
    return text;
  }
  if (WIFSTOPPED(wait_status)) {
    const int signo = WSTOPSIG(wait_status);
    return "stopped by signal " + std::to_string(signo) + " (" + describeSignal(signo) + ")";
  }
  if (WIFCONTINUED(wait_status)) return "continued";
  char hex[16];
  std::snprintf(hex, sizeof hex, "%#x", static_cast<unsigned>(wait_status));
  return std::string("unrecognised wait status ") + hex;
}

}  // namespace wman::daemon
