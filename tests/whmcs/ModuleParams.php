<?php
/**
 * The $params array WHMCS hands a server module for one service, built from the test's WHMCS
 * database the way WHMCS builds it from tblhosting, tblproducts, tblservers and tblclients
 * (https://developers.whmcs.com/provisioning-modules/module-parameters/).
 */
final class ModuleParams
{
    public static function forService($serviceId, array $overrides = [])
    {
        $db = &WhmcsTestDb::data();
        $service = $db['services'][(string) $serviceId];
        $product = $db['products'][(string) $service['packageid']];
        $server = $db['servers'][(string) $service['server']];
        $client = $db['clients'][(string) $service['userid']];
        $params = self::forServer($service['server']) + [
            'accountid' => (int) $service['id'],
            'serviceid' => (int) $service['id'],
            'userid' => (int) $service['userid'],
            'packageid' => (int) $service['packageid'],
            'pid' => (int) $service['packageid'],
            'producttype' => 'other',
            'moduletype' => 'voxcast',
            'domain' => $service['domain'] ?? '',
            'username' => $service['username'] ?? '',
            'password' => $service['password'] ?? '',
            'status' => $service['domainstatus'],
            'customfields' => $service['customfields'] ?? [],
            'configoptions' => [],
            'clientsdetails' => $client + ['userid' => (int) $service['userid'], 'id' => (int) $service['userid'],
                'fullname' => trim($client['firstname'] . ' ' . $client['lastname'])],
            // WHMCS 7+: the service's Eloquent model
            'model' => (object) ['id' => (int) $service['id'],
                'nextduedate' => $service['nextduedate'] ?? '0000-00-00',
                'domainstatus' => $service['domainstatus']],
        ];
        for ($i = 1; $i <= 24; $i++) {
            $params['configoption' . $i] = $product['configoption' . $i] ?? '';
        }
        return array_merge($params, $overrides);
    }

    public static function forServer($serverId)
    {
        $db = &WhmcsTestDb::data();
        $server = $db['servers'][(string) $serverId];
        return [
            'server' => true,
            'serverid' => (int) $serverId,
            'serverip' => $server['ipaddress'] ?? '',
            'serverhostname' => $server['hostname'],
            'serverusername' => $server['username'] ?? '',
            'serverpassword' => $server['password'] ?? '',
            'serveraccesshash' => $server['accesshash'] ?? '',
            'serversecure' => !empty($server['secure']),
            'serverhttpprefix' => !empty($server['secure']) ? 'https' : 'http',
            'serverport' => (string) ($server['port'] ?? ''),
        ];
    }

    /** What the test hands back to the pytest driver (beside WHMCS's own tables). */
    public static function result($name, $value)
    {
        $db = &WhmcsTestDb::data();
        $db['results'][$name] = $value;
    }
}
