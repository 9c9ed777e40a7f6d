// Exit codes of the tpmauthn command (SPEC "CLI").
#pragma once

namespace tpmauthn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;      // verification failed, wrong PIN
inline constexpr int kExitUsage = 2;         // usage error or malformed input
inline constexpr int kExitTpmUnavailable = 3;
inline constexpr int kExitTpmLockout = 4;

}  // namespace tpmauthn::cli
