#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <srtp2/srtp.h>
#include <libpq-fe.h>
#include "absl/strings/str_cat.h"
TEST(Toolchain, Links) { EXPECT_EQ(srtp_init(), srtp_err_status_ok); EXPECT_EQ(absl::StrCat("a", 1), "a1"); EXPECT_GT(PQlibVersion(), 0); }
