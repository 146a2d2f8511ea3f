// The requests of apps' builds and releases (common/msg/releases.h), served by
// sauron's ApiServer: it registers ReleaseRequestTypes() as known types and
// hands each of them to DispatchReleases.
//
// Contract:
//  * admin.* only (ApiServer's role check runs first: these come from the pod's
//    admin key, i.e. `rv` and `rv-deploy`).
//  * Every change appends an event to sauron's log through `store`:
//    build.started, build.finished, release.created, release.deployed,
//    release.failed, formation.set (detail "<app> ..."; never build output).
//  * Bad input is answered with an error; nothing is half-written (each store
//    call is one transaction).
#pragma once

#include <string>
#include <vector>

#include "common/msg/envelope.h"
#include "common/status.h"
#include "sauron/releases.h"
#include "sauron/store.h"

namespace rv::sauron {

const std::vector<const char*>& ReleaseRequestTypes();
bool IsReleaseRequest(const std::string& type);

// Returns the encoded reply for env.req_id.
Result<std::string> DispatchReleases(ReleaseStore& releases, Store& store, const msg::Envelope& env, int64_t now_ms);

// After an environment's config changed (admin.config_set/unset succeeded):
// bumps its config version and records a release per app that has one
// deployed (events release.created).
void OnEnvConfigChanged(ReleaseStore& releases, Store& store, const std::string& env, const std::string& what,
                        int64_t now_ms);

}  // namespace rv::sauron
