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
                $external = self::externalIdOf($api, $tenant);
                if (preg_match('/^whmcs-(\d+)$/', $external, $m)) {
                    $found[(int) $m[1]] = $tenant;
                }
            }
            if ($page * self::PER_PAGE >= (int) ($data['total'] ?? 0)) {
                return $found;
            }
        }
    }

    /** The tenant's external id: from the listing when it carries it, else its subscription. */
    public static function externalIdOf(ApiClient $api, array $tenant)
    {
        if (isset($tenant['external_id'])) {
            return (string) $tenant['external_id'];
        }
        if (array_key_exists('subscription', $tenant)) {
            return (string) ($tenant['subscription']['external_id'] ?? '');
        }
        try {
            $sub = $api->get("/tenants/{$tenant['id']}/subscription", 'ListTenants')->data;
        } catch (ApiError $e) {
            if ($e->status === 404) {
                return '';  // on no package: not one of WHMCS's
            }
            throw $e;
        }
        return (string) ($sub['external_id'] ?? '');
    }
}
