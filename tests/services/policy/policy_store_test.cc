// PolicyStore: hot reload swaps the document the next decision uses; a
// broken rewrite is rejected, the previous document stays in force and
// Status().last_error says why; the watcher thread picks changes up alone.
#include "services/policy/policy_store.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/policy/policy_evaluator.h"
#include "tests/services/policy/test_files.h"

namespace sotto::policy {
namespace {

using ::testing::HasSubstr;

Principal QaAnalyst() {
  Principal principal;
  principal.tenant = "acme";
  principal.subject = "qa-1";
  principal.roles = {"qa_analyst"};
  return principal;
}

Resource TeamBCall() {
  Resource resource;
  resource.tenant = "acme";
  resource.team = "team-b";
  resource.monitoring_disclosed = true;
  return resource;
}

bool QaMayWhisper(const PolicyStore& store) {
  std::shared_ptr<const PolicySnapshot> snapshot = store.Current();
  return PolicyEvaluator(&snapshot->document)
      .Authorize(QaAnalyst(), Action::kCallsSupervise, TeamBCall(),
                 Mode::kWhisper)
      .allowed;
}

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::WriteExamplePolicy();
    original_ = testing::ExamplePolicyText();
    // The example's QA rule with WHISPER added.
    whisper_ = absl::StrReplaceAll(
        original_,
        {{"        teams: [\"*\"]\n        modes: [LISTEN]\n",
          "        teams: [\"*\"]\n        modes: [LISTEN, WHISPER]\n"}});
    ASSERT_NE(whisper_, original_) << "the example's QA rule changed shape";
  }

  std::unique_ptr<PolicyStore> Open(absl::Duration interval = absl::Hours(1)) {
    PolicyStoreOptions options;
    options.path = path_;
    options.reload_interval = interval;
    absl::StatusOr<std::unique_ptr<PolicyStore>> store =
        PolicyStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string path_;
  std::string original_;
  std::string whisper_;
};

TEST_F(PolicyStoreTest, OpenFailsWithTheDocumentsError) {
  PolicyStoreOptions options;
  options.path = path_ + ".missing";
  absl::StatusOr<std::unique_ptr<PolicyStore>> store =
      PolicyStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(options.path));
  options.path = "";
  EXPECT_THAT(PolicyStore::Open(options).status().message(),
              HasSubstr("--policy_file is required"));
}

TEST_F(PolicyStoreTest, StatusDescribesTheLoadedDocument) {
  std::unique_ptr<PolicyStore> store = Open();
  ASSERT_NE(store, nullptr);
  const PolicyStatus status = store->Status();
  EXPECT_EQ(status.source, path_);
  EXPECT_EQ(status.sha256, Sha256Hex(original_));
  EXPECT_EQ(status.sha256.size(), 64u);
  EXPECT_EQ(status.tenants, 2u);
  EXPECT_EQ(status.rules, 5u);
  EXPECT_TRUE(status.last_error.empty());
  EXPECT_LE(status.load_time, absl::Now());
}

TEST_F(PolicyStoreTest, RewrittenFileIsUsedByTheNextDecision) {
  std::unique_ptr<PolicyStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(QaMayWhisper(*store));
  testing::WriteFile(path_, whisper_);
  ASSERT_TRUE(store->ReloadIfChanged().ok());
  EXPECT_TRUE(QaMayWhisper(*store));
  EXPECT_EQ(store->Status().sha256, Sha256Hex(whisper_));
}

TEST_F(PolicyStoreTest, BrokenRewriteKeepsThePreviousDocument) {
  std::unique_ptr<PolicyStore> store = Open();
  ASSERT_NE(store, nullptr);
  const std::string broken = absl::StrReplaceAll(
      whisper_, {{"actions: [calls.manage, outcomes.write",
                  "actions: [calls.mangle, outcomes.write"}});
  ASSERT_NE(broken, whisper_);
  testing::WriteFile(path_, broken);
  absl::Status reload = store->ReloadIfChanged();
  EXPECT_FALSE(reload.ok());
  EXPECT_FALSE(QaMayWhisper(*store)) << "the broken document's grant is unused";
  const PolicyStatus status = store->Status();
  EXPECT_EQ(status.sha256, Sha256Hex(original_));
  EXPECT_THAT(status.last_error, HasSubstr(absl::StrCat(path_, ":")));
  EXPECT_THAT(status.last_error, HasSubstr("unknown action \"calls.mangle\""));

  // Fixing the file clears the error and loads the fix.
  testing::WriteFile(path_, whisper_);
  EXPECT_TRUE(store->ReloadIfChanged().ok());
  EXPECT_TRUE(QaMayWhisper(*store));
  EXPECT_TRUE(store->Status().last_error.empty());
}

TEST_F(PolicyStoreTest, DeletedFileKeepsThePreviousDocument) {
  std::unique_ptr<PolicyStore> store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  EXPECT_FALSE(store->ReloadIfChanged().ok());
  EXPECT_THAT(store->Status().last_error, HasSubstr("cannot read"));
  EXPECT_EQ(store->Status().tenants, 2u);
}

TEST_F(PolicyStoreTest, WatcherReloadsWhileReadersDecide) {
  std::unique_ptr<PolicyStore> store = Open(absl::Milliseconds(20));
  ASSERT_NE(store, nullptr);
  store->Start();
  // Readers decide continuously across the swap (TSan checks the hand-off).
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&store, &stop] {
      while (!stop.load()) QaMayWhisper(*store);
    });
  }
  testing::WriteFile(path_, whisper_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!QaMayWhisper(*store) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_TRUE(QaMayWhisper(*store));
  store->Stop();
  store->Stop();  // Idempotent.
}

}  // namespace
}  // namespace sotto::policy
