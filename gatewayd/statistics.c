/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "statistics.h"

const GatewayStatistic gateway_statistics[] = {
        { "unsolicited", "nat66-unsolicited-drops", NULL,
          "to a pool address but a reply to no client's flow (NAT66)" },
        { "foreign", "nat66-foreign-drops", NULL,
          "toward the prefix from neither a client nor the pool: not an open translator" },
        { "unmapped", "nat66-unmapped-drops", NULL,
          "first packets of new flows toward the translator that NAT66 did not map (dropped before conntrack kept them so)" },
        { "nat46", "nat46-packets", "nat46-bytes",
          "from and to NAT46 clients, as IPv6" },
        { "multicast", "multicast-packets", "multicast-bytes",
          "sent on toward a mapped IPv4 group" },
        { "multicast_stale", "multicast-stale-drops", NULL,
          "of a multicast flow whose static map was removed or changed" },
        { "unclaimed", "port-range-unclaimed-drops", NULL,
          "for PortRange= that reached the host while the translator was not attached" },
        { "ha_standby", "ha-standby-drops", NULL,
          "new client flows dropped while this HA node was standby (not VRRP master)" },
        { NULL, GATEWAY_STATISTIC_CONNTRACK_FULL, NULL,
          "times the conntrack table went above 95% of nf_conntrack_max" },
        { NULL, "ha-failovers", NULL,
          "VRRP instances that became master on this HA node (the first election counts too)" },
};

const size_t gateway_statistics_count = sizeof(gateway_statistics) / sizeof(gateway_statistics[0]);

const char *gateway_statistic_explain(const char *name) {
        for (size_t i = 0; i < gateway_statistics_count; i++) {
                const GatewayStatistic *s = &gateway_statistics[i];

                if (strcmp(name, s->packets) == 0 || (s->bytes && strcmp(name, s->bytes) == 0))
                        return s->explanation;
        }
        return NULL;
}
