<?php

namespace WHMCS\Module\Server\Voxcast;

/** The voxcast tenants WHMCS provisioned (external_id "whmcs-<serviceid>"). */
class Accounts
{
    const PER_PAGE = 200;

    /** serviceid => tenant, every page of GET /tenants. */
    public static function whmcsTenants(ApiClient $api)
    {
        $found = [];
        for ($page = 1; ; $page++) {
            $data = $api->get('/tenants', 'ListTenants', ['page' => $page, 'per_page' => self::PER_PAGE])->data;
            foreach ($data['items'] ?? [] as $tenant) {
                $external = (string) ($tenant['external_id']
                    ?? ($tenant['subscription']['external_id'] ?? ''));
                if (preg_match('/^whmcs-(\d+)$/', $external, $m)) {
                    $found[(int) $m[1]] = $tenant;
                }
            }
            if ($page * self::PER_PAGE >= (int) ($data['total'] ?? 0)) {
                return $found;
            }
        }
    }
}
