<?php
/**
 * voxcast provisioning module for WHMCS (modules/servers/voxcast/).
 *
 * A WHMCS service of a voxcast product is one voxcast tenant on a package, found by its
 * external id "whmcs-<serviceid>"; a product whose package bills as "topup" credits the
 * client's voxcast account instead. Every call goes to voxcast's /api/v1 with the server's
 * provider API key (Access Hash, or Password) over HTTPS or HTTP as the server says, with
 * an Idempotency-Key per action, and is logged with logModuleCall.
 *
 * See whmcs/README.md for the installation.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

foreach (['ApiError', 'ApiResponse', 'ApiClient', 'Accounts', 'Provisioner'] as $class) {
    if (!class_exists('WHMCS\\Module\\Server\\Voxcast\\' . $class, false)) {
        require_once __DIR__ . '/lib/' . $class . '.php';
    }
}

use WHMCS\Module\Server\Voxcast\Accounts;
use WHMCS\Module\Server\Voxcast\ApiClient;
use WHMCS\Module\Server\Voxcast\MetricsProvider;
use WHMCS\Module\Server\Voxcast\Provisioner;

function voxcast_MetaData()
{
    return [
        'DisplayName' => 'voxcast',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultSSLPort' => '443',
        'DefaultNonSSLPort' => '80',
        'ServiceSingleSignOnLabel' => 'Log in to voxcast',
        'AdminSingleSignOnLabel' => 'Log in to voxcast as the client\'s admin',
        // usage metrics are matched to services by their username (the voxcast login)
        'ListAccountsUniqueIdentifierDisplayName' => 'Username',
        'ListAccountsUniqueIdentifierField' => 'username',
        'ListAccountsProductField' => 'configoption1',
    ];
}

function voxcast_ConfigOptions()
{
    return [
        'Package' => [
            'Type' => 'text',
            'Size' => '10',
            'Loader' => 'voxcast_LoaderPackages',
            'SimpleMode' => true,
            'Description' => 'The voxcast package this product sells (its rate plan, limits, '
                . 'features and billing model; a "topup" package credits the balance).',
        ],
        'Login e-mail' => [
            'Type' => 'dropdown',
            'Options' => [
                'credentials' => 'voxcast mails the login and password',
                'activation' => 'voxcast mails an activation link',
                'none' => 'no e-mail from voxcast (WHMCS\'s welcome e-mail only)',
            ],
            'Default' => 'credentials',
            'SimpleMode' => true,
        ],
        'Language' => [
            'Type' => 'text',
            'Size' => '5',
            'Description' => 'Portal language (en, de); empty: from the client\'s language',
        ],
        'Charge renewals to balance' => [
            'Type' => 'yesno',
            'Description' => 'Take each renewal\'s price from the prepaid voxcast balance '
                . '(normally WHMCS invoices it and voxcast only records it)',
        ],
    ];
}

/** The Package dropdown: voxcast's active packages, id => "name (billing model)". */
function voxcast_LoaderPackages(array $params)
{
    $api = new ApiClient($params);
    $options = [];
    for ($page = 1; ; $page++) {
        $data = $api->get('/packages', 'LoaderPackages', ['page' => $page, 'per_page' => 200])->data;
        foreach ($data['items'] ?? [] as $package) {
            if (array_key_exists('active', $package) && !$package['active']) {
                continue;
            }
            $options[$package['id']] = $package['name'] . ' (' . ($package['billing_model'] ?? '?') . ')';
        }
        if ($page * 200 >= (int) ($data['total'] ?? 0)) {
            break;
        }
    }
    if (!$options) {
        throw new Exception('voxcast has no active package: create one under Admin, Packages.');
    }
    return $options;
}

/** Runs one module action; "success" or the error text WHMCS shows (for any Throwable: a
 *  refusal of voxcast's or a fault here never becomes a blank page in WHMCS). */
function voxcast_run(array $params, $action, callable $what)
{
    try {
        return $what(new Provisioner($params));
    } catch (Throwable $e) {
        if (function_exists('logModuleCall')) {
            logModuleCall('voxcast', $action, $params['serviceid'] ?? '', $e->getMessage(),
                get_class($e), []);
        }
        return $e->getMessage();
    }
}

function voxcast_CreateAccount(array $params)
{
    return voxcast_run($params, 'CreateAccount', function (Provisioner $p) { return $p->create(); });
}

function voxcast_SuspendAccount(array $params)
{
    return voxcast_run($params, 'SuspendAccount', function (Provisioner $p) { return $p->suspend(); });
}

function voxcast_UnsuspendAccount(array $params)
{
    return voxcast_run($params, 'UnsuspendAccount', function (Provisioner $p) { return $p->unsuspend(); });
}

function voxcast_TerminateAccount(array $params)
{
    return voxcast_run($params, 'TerminateAccount', function (Provisioner $p) { return $p->terminate(); });
}

function voxcast_ChangePackage(array $params)
{
    return voxcast_run($params, 'ChangePackage', function (Provisioner $p) { return $p->changePackage(); });
}

function voxcast_ChangePassword(array $params)
{
    return voxcast_run($params, 'ChangePassword', function (Provisioner $p) { return $p->changePassword(); });
}

function voxcast_Renew(array $params)
{
    return voxcast_run($params, 'Renew', function (Provisioner $p) { return $p->renew(); });
}

function voxcast_TestConnection(array $params)
{
    try {
        (new ApiClient($params))->get('/packages', 'TestConnection', ['per_page' => 1]);
        return ['success' => true, 'error' => ''];
    } catch (Throwable $e) {
        return ['success' => false, 'error' => $e->getMessage()];
    }
}

function voxcast_ServiceSingleSignOn(array $params)
{
    try {
        return ['success' => true, 'redirectTo' => (new Provisioner($params))->singleSignOn()];
    } catch (Throwable $e) {
        return ['success' => false, 'errorMsg' => $e->getMessage()];
    }
}

/** What the client area and the admin tab show: account, package, balance, usage. */
function voxcast_overview(Provisioner $p)
{
    $tenant = $p->requireTenant();
    $subscription = $p->subscription($tenant);
    $package = null;
    if ($subscription && !empty($subscription['package_id'])) {
        $package = $p->package($subscription['package_id']);
    }
    $usage = $p->usage($tenant);
    return ['tenant' => $tenant, 'subscription' => $subscription, 'package' => $package,
            'usage' => $usage];
}

function voxcast_ClientArea(array $params)
{
    try {
        $p = new Provisioner($params);
        if ($p->isTopup()) {
            return ['tabOverviewReplacementTemplate' => 'templates/topup.tpl',
                    'templateVariables' => ['package' => $p->package()]];
        }
        $view = voxcast_overview($p);
        return [
            'tabOverviewModuleOutputTemplate' => 'templates/overview.tpl',
            'templateVariables' => [
                'tenant' => $view['tenant'],
                'subscription' => $view['subscription'],
                'package' => $view['package'],
                'usage' => $view['usage'],
                'balance' => $view['tenant']['balance'] ?? '',
                'serviceid' => $params['serviceid'],
            ],
        ];
    } catch (Throwable $e) {
        if (function_exists('logModuleCall')) {
            logModuleCall('voxcast', 'ClientArea', $params['serviceid'] ?? '', $e->getMessage(), '', []);
        }
        return ['tabOverviewReplacementTemplate' => 'templates/error.tpl',
                'templateVariables' => ['error' => $e->getMessage()]];
    }
}

function voxcast_AdminServicesTabFields(array $params)
{
    $h = function ($text) { return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8'); };
    try {
        $p = new Provisioner($params);
        if ($p->isTopup()) {
            return ['voxcast' => 'Top-up of ' . $h($p->package()['topup_amount'] ?? '')
                . ' to the client\'s voxcast balance'];
        }
        $tenant = $p->tenant();
        if ($tenant === null) {
            return ['voxcast account' => 'not created yet (external id '
                . $h(Provisioner::externalId($p->serviceId())) . ')'];
        }
        $view = voxcast_overview($p);
        $sub = $view['subscription'];
        $usage = $view['usage'];
        $fields = [
            'voxcast account' => '#' . $h($tenant['id']) . ' ' . $h($tenant['name'])
                . ' (' . $h($tenant['slug']) . '), ' . $h($tenant['status']),
            'voxcast package' => $view['package'] ? $h($view['package']['name'])
                . ' (' . $h($view['package']['billing_model'] ?? '') . ')' : 'none',
            'voxcast balance' => $h($tenant['balance'] ?? ''),
        ];
        if ($sub) {
            $fields['voxcast period'] = $h(substr((string) ($sub['period_start'] ?? ''), 0, 10))
                . ' to ' . $h(substr((string) ($sub['period_end'] ?? ''), 0, 10))
                . ($sub['status'] ?? '' ? ', ' . $h($sub['status']) : '')
                . (!empty($sub['pending_package_id']) ? ', package #' . $h($sub['pending_package_id'])
                    . ' from the next renewal' : '');
        }
        $fields['voxcast usage'] = sprintf('%s minutes, %s SMS, %s fax pages, %s e-mails (%s to %s)',
            $h($usage['minutes'] ?? 0), $h($usage['sms_messages'] ?? 0), $h($usage['fax_pages'] ?? 0),
            $h($usage['emails'] ?? 0), $h($usage['from'] ?? $usage['start'] ?? ''),
            $h($usage['to'] ?? $usage['end'] ?? ''));
        return $fields;
    } catch (Throwable $e) {
        return ['voxcast' => '<span class="text-danger">' . $h($e->getMessage()) . '</span>'];
    }
}

/**
 * WHMCS's daily usage update: each voxcast service's disk use and quota onto tblhosting
 * (the minutes, messages, pages and e-mails are billed through the MetricProvider).
 */
function voxcast_UsageUpdate(array $params)
{
    try {
        $api = new ApiClient($params);
        $now = gmdate('Y-m-d H:i:s');
        $provisioner = new Provisioner($params, $api);
        foreach (Accounts::whmcsTenants($api) as $serviceId => $tenant) {
            $usage = $api->get("/tenants/{$tenant['id']}/usage", 'UsageUpdate')->data;
            $diskMb = (int) ceil(((float) ($usage['disk_bytes'] ?? 0)) / 1048576);
            $limitMb = (int) ($tenant['disk_quota_mb'] ?? 0);
            if ($limitMb === 0) {  // the quota is the package's
                $sub = $provisioner->subscription($tenant);
                $limitMb = $sub ? (int) ($provisioner->package($sub['package_id'])['disk_quota_mb'] ?? 0) : 0;
            }
            \WHMCS\Database\Capsule::table('tblhosting')
                ->where('id', $serviceId)
                ->where('server', $params['serverid'])
                ->update(['diskusage' => $diskMb, 'disklimit' => $limitMb, 'lastupdate' => $now]);
        }
        return 'success';
    } catch (Throwable $e) {
        if (function_exists('logModuleCall')) {
            logModuleCall('voxcast', 'UsageUpdate', $params['serverid'] ?? '', $e->getMessage(), '', []);
        }
        return $e->getMessage();
    }
}

/** WHMCS 7.9+ usage billing (its UsageBilling classes must exist, so loaded only here). */
function voxcast_MetricProvider(array $params)
{
    if (!class_exists(MetricsProvider::class)) {
        require_once __DIR__ . '/lib/MetricsProvider.php';
    }
    return new MetricsProvider($params);
}
