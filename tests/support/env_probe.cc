// Test-only shared object: when loaded, it appends "loaded uid U euid E" to
// the file named by $TPMAUTHN_PROBE_MARKER. Offered to the PAM module inside
// su and sudo as a TCTI library ($TPMAUTHN_TCTI) and as an OpenSSL provider
// ($OPENSSL_CONF, $OPENSSL_MODULES); it must never be loaded there.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

__attribute__((constructor)) static void RecordLoad() {
  const char* marker = std::getenv("TPMAUTHN_PROBE_MARKER");
  if (!marker) return;
  const int fd = ::open(marker, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char line[64];
  const int length = std::snprintf(line, sizeof(line), "loaded uid %u euid %u\n",
                                   static_cast<unsigned>(::getuid()),
                                   static_cast<unsigned>(::geteuid()));
  if (length > 0 && ::write(fd, line, static_cast<size_t>(length)) < 0) std::perror("probe");
  ::close(fd);
}
