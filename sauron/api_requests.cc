#include "sauron/api_requests.h"

namespace rv::sauron {

const RequestTable& SauronRequests() {
  static const RequestTable kTable = [] {
    RequestTable t;
    RegisterHostRequests(t);
    RegisterSchedulerRequests(t);
    RegisterAdminRequests(t);
    RegisterOverlayRequests(t);
    RegisterAccountsRequests(t);
    RegisterReleaseRequests(t);
    RegisterProxyRequests(t);
    RegisterDomainRequests(t);
    RegisterLogRequests(t);
    return t;
  }();
  return kTable;
}

}  // namespace rv::sauron
