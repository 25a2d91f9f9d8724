<?php
/**
 * What the module functions do, against voxcast's provisioning API: a WHMCS service is the
 * voxcast tenant whose external_id is "whmcs-<serviceid>"; a service of a top-up package
 * has no tenant of its own and credits the client's voxcast service instead.
 *
 * Every write sends an Idempotency-Key made of the service id, the action and a token that
 * is stable across WHMCS's retries of the same action (HMAC-hashed with the API key, so no
 * secret appears in it): a retry is answered from voxcast's store and nothing is done twice.
 * Where a replayed answer may describe an earlier round of the same action (suspend, then
 * unsuspend, then suspend again), the state is checked afterwards and the action sent once
 * more under a fresh key when it is not in effect.
 */

namespace WHMCS\Module\Server\Voxcast;

class Provisioner
{
    const MODULE = 'voxcast';
    const PASSWORD_WINDOW_S = 900;

    /** @var array */
    private $params;
    /** @var ApiClient */
    private $api;
    /** @var array|null per call: GET /packages/{id} answers by id */
    private $packages = [];

    public function __construct(array $params, ApiClient $api = null)
    {
        $this->params = $params;
        $this->api = $api ?: new ApiClient($params);
    }

    public function api()
    {
        return $this->api;
    }

    public function serviceId()
    {
        $id = (int) ($this->params['serviceid'] ?? 0);
        if ($id <= 0) {
            throw new ApiError('The WHMCS service id is missing.');
        }
        return $id;
    }

    public static function externalId($serviceId)
    {
        return 'whmcs-' . (int) $serviceId;
    }

    public function idempotencyKey($action, $token)
    {
        $secret = (string) ($this->params['serveraccesshash'] ?? '') . (string) ($this->params['serverpassword'] ?? '');
        return sprintf('whmcs-%d-%s-%s', $this->serviceId(), $action,
            substr(hash_hmac('sha256', (string) $token, $secret), 0, 24));
    }

    // --- reading -----------------------------------------------------------------------------

    /** The tenant of a WHMCS service (this one unless given), or null. */
    public function tenant($serviceId = null)
    {
        $serviceId = $serviceId === null ? $this->serviceId() : (int) $serviceId;
        $found = $this->api->get('/tenants', 'FindTenant',
            ['external_id' => self::externalId($serviceId)])->data;
        $items = $found['items'] ?? [];
        return $items ? $items[0] : null;
    }

    public function requireTenant()
    {
        $tenant = $this->tenant();
        if ($tenant === null) {
            throw new ApiError('voxcast has no account for this service (external id '
                . self::externalId($this->serviceId()) . '): create it first.', 404, 'not-found');
        }
        return $tenant;
    }

    /** The product's package (configoption1): id => the package as voxcast describes it. */
    public function package($packageId = null)
    {
        $packageId = (int) ($packageId === null ? ($this->params['configoption1'] ?? 0) : $packageId);
        if ($packageId <= 0) {
            throw new ApiError('Choose the voxcast package in the product\'s Module Settings.');
        }
        if (!isset($this->packages[$packageId])) {
            $this->packages[$packageId] = $this->api->get("/packages/{$packageId}", 'GetPackage')->data;
        }
        return $this->packages[$packageId];
    }

    public function isTopup($package = null)
    {
        $package = $package ?: $this->package();
        return ($package['billing_model'] ?? '') === 'topup';
    }

    public function subscription(array $tenant)
    {
        if (array_key_exists('subscription', $tenant) && is_array($tenant['subscription'])) {
            return $tenant['subscription'];
        }
        try {
            return $this->api->get("/tenants/{$tenant['id']}/subscription", 'GetSubscription')->data;
        } catch (ApiError $e) {
            if ($e->status === 404) {
                return null;
            }
            throw $e;
        }
    }

    /** This calendar month so far, as the MetricProvider reports it to WHMCS (voxcast's own
     *  default, the subscription's period, runs ahead once a renewal is paid early). */
    public function usage(array $tenant)
    {
        return $this->api->get("/tenants/{$tenant['id']}/usage", 'GetUsage',
            ['from' => gmdate('Y-m-01'), 'to' => gmdate('Y-m-d')])->data;
    }

    // --- writing -----------------------------------------------------------------------------

    /** POST under an idempotency key; when the answer is a replay and $inEffect() says the
     *  action is not in effect now, once more under a fresh key. A replayed refusal (voxcast
     *  keeps 4xx answers too) was an earlier attempt's: it did nothing, so the action is sent
     *  again under a fresh key, and the answer is about things as they are now (the users
     *  removed that blocked a downgrade, say). */
    private function write($path, array $body, $action, $token, callable $inEffect = null)
    {
        $key = $this->idempotencyKey(strtolower($action), $token);
        try {
            $response = $this->api->post($path, $body, $key, $action);
        } catch (ApiError $e) {
            if (!$e->replayed || $e->status < 400 || $e->status >= 500) {
                throw $e;
            }
            return $this->api->post($path, $body, $this->freshKey($key), $action);
        }
        if ($response->replayed && $inEffect !== null && !$inEffect()) {
            $response = $this->api->post($path, $body, $this->freshKey($key), $action);
        }
        return $response;
    }

    /** A key for sending an action again when the stable one holds an earlier round's answer:
     *  random, so two rounds within one second do not meet either. */
    private function freshKey($key)
    {
        return $key . '-' . bin2hex(random_bytes(6));
    }

    public function create()
    {
        $package = $this->package();
        if ($this->isTopup($package)) {
            return $this->topup('create', 'order');
        }
        if ($this->tenant() !== null) {
            return 'success';  // created already: WHMCS retried after voxcast had done it
        }
        $body = $this->tenantBody($package);
        $attempts = 0;
        while (true) {
            try {
                $this->write('/tenants', $body, 'CreateAccount', json_encode($body),
                    function () { return $this->tenant() !== null; });
                break;
            } catch (ApiError $e) {
                // the derived slug or login name is someone else's: make it this service's own
                $taken = array_intersect(array_keys($e->fields), ['slug', 'admin_username']);
                if ($e->status !== 409 || !$taken || $attempts++ > 0) {
                    throw $e;
                }
                foreach ($taken as $field) {
                    $body[$field] = self::suffixed($body[$field], '-' . $this->serviceId(),
                        $field === 'slug' ? 32 : 64);
                }
            }
        }
        $this->rememberLogin($body['admin_username']);
        return 'success';
    }

    public function tenantBody(array $package)
    {
        $client = $this->params['clientsdetails'] ?? [];
        $custom = $this->params['customfields'] ?? [];
        $name = trim((string) ($client['companyname'] ?? ''));
        if ($name === '') {
            $name = trim(($client['firstname'] ?? '') . ' ' . ($client['lastname'] ?? ''));
        }
        if ($name === '') {
            $name = 'WHMCS service ' . $this->serviceId();
        }
        $email = trim((string) ($client['email'] ?? ''));
        if ($email === '') {
            throw new ApiError('The client has no e-mail address: voxcast mails the login to it.');
        }
        $slug = self::customField($custom, ['subdomain', 'slug', 'account name']);
        if ($slug === '' && !empty($this->params['domain'])) {
            $slug = explode('.', (string) $this->params['domain'])[0];
        }
        if ($slug === '') {
            $slug = $name;
        }
        $slug = self::slug($slug);
        if ($slug === '') {
            $slug = 'whmcs-' . $this->serviceId();
        }
        $username = trim((string) ($this->params['username'] ?? ''));
        if (!preg_match('/^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$/', $username)) {
            $username = preg_match('/^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$/', $email) ? $email : $slug . '-admin';
        }
        $notify = self::notify($this->params['configoption2'] ?? '');
        $password = (string) ($this->params['password'] ?? '');
        if ($notify !== 'activation' && strlen($password) < 8) {
            throw new ApiError('The service password must have at least 8 characters '
                . '(set it on the service, or let WHMCS generate one).');
        }
        $body = [
            'name' => mb_substr($name, 0, 100),
            'slug' => $slug,
            'email' => $email,
            'admin_username' => $username,
            'admin_email' => $email,
            'package_id' => (int) $package['id'],
            'external_id' => self::externalId($this->serviceId()),
            'notify' => $notify,
        ];
        if ($notify !== 'activation') {  // with an activation link the admin chooses it
            $body['admin_password'] = $password;
        }
        $country = strtoupper(trim((string) ($client['countrycode'] ?? $client['country'] ?? '')));
        if (preg_match('/^[A-Z]{2}$/', $country)) {
            $body['country'] = $country;
        }
        $language = self::language($this->params['configoption3'] ?? '', $client['language'] ?? '');
        if ($language !== '') {
            $body['language'] = $language;
        }
        return $body;
    }

    /** WHMCS keeps the service's username; the MetricProvider matches voxcast usage to the
     *  service by it, so it is the login voxcast really has. */
    private function rememberLogin($username)
    {
        if ($username === ($this->params['username'] ?? null) || !function_exists('localAPI')) {
            return;
        }
        localAPI('UpdateClientProduct', ['serviceid' => $this->serviceId(),
            'serviceusername' => $username]);
    }

    public function suspend()
    {
        if ($this->isTopup()) {
            return 'success';  // a top-up has nothing to suspend: its credit was given
        }
        $tenant = $this->requireTenant();
        if (($tenant['status'] ?? '') === 'suspended') {
            return 'success';
        }
        $body = ['reason' => 'provider'];  // lifted only by unsuspend, never by a payment
        $this->write("/tenants/{$tenant['id']}/suspend", $body, 'SuspendAccount', $tenant['id'],
            function () { return ($this->requireTenant()['status'] ?? '') === 'suspended'; });
        return 'success';
    }

    public function unsuspend()
    {
        if ($this->isTopup()) {
            return 'success';
        }
        $tenant = $this->requireTenant();
        if (($tenant['status'] ?? '') === 'active') {
            return 'success';
        }
        $this->write("/tenants/{$tenant['id']}/unsuspend", [], 'UnsuspendAccount', $tenant['id'],
            function () { return ($this->requireTenant()['status'] ?? '') === 'active'; });
        return 'success';
    }

    public function terminate()
    {
        if ($this->isTopup()) {
            return 'success';
        }
        $tenant = $this->tenant();
        if ($tenant === null) {
            return 'success';  // gone already
        }
        $this->write("/tenants/{$tenant['id']}/terminate", [], 'TerminateAccount', $tenant['id']);
        return 'success';
    }

    public function changePackage()
    {
        $package = $this->package();
        if ($this->isTopup($package)) {
            throw new ApiError('A top-up package credits the balance; it cannot replace a voxcast '
                . 'service\'s package.');
        }
        $tenant = $this->requireTenant();
        $packageId = (int) $package['id'];
        $body = ['package_id' => $packageId];
        $this->write("/tenants/{$tenant['id']}/package", $body, 'ChangePackage',
            $tenant['id'] . ':' . $packageId, function () use ($packageId) {
                $sub = $this->subscription($this->requireTenant());
                return $sub && ((int) ($sub['package_id'] ?? 0) === $packageId
                    || (int) ($sub['pending_package_id'] ?? 0) === $packageId);
            });
        return 'success';
    }

    public function changePassword()
    {
        if ($this->isTopup()) {
            return 'success';
        }
        $tenant = $this->requireTenant();
        $password = (string) ($this->params['password'] ?? '');
        if (strlen($password) < 8) {
            throw new ApiError('The new password must have at least 8 characters.');
        }
        $body = ['password' => $password];
        $username = trim((string) ($this->params['username'] ?? ''));
        if ($username !== '') {
            $body['username'] = $username;
        }
        // the same password set twice within a window is one change; later, a new one
        $window = intdiv(time(), self::PASSWORD_WINDOW_S);
        $this->write("/tenants/{$tenant['id']}/password", $body, 'ChangePassword',
            $tenant['id'] . ':' . json_encode($body) . ':' . $window);
        return 'success';
    }

    public function renew()
    {
        $package = $this->package();
        if ($this->isTopup($package)) {
            return $this->topup('renew', $this->paidThrough());
        }
        $tenant = $this->requireTenant();
        $sub = $this->subscription($tenant);
        if ($sub === null) {
            throw new ApiError('The voxcast account of this service has no package subscription.');
        }
        if (($package['billing_model'] ?? '') === 'payg') {
            return 'success';  // pay as you go: nothing expires, nothing to renew
        }
        $paidThrough = $this->paidThrough();
        $body = ['reference' => 'WHMCS service #' . $this->serviceId() . ', paid through ' . $paidThrough];
        if (self::yes($this->params['configoption4'] ?? '')) {
            $body['charge_balance'] = true;
        }
        $this->write("/tenants/{$tenant['id']}/renew", $body, 'Renew', $tenant['id'] . ':' . $paidThrough);
        return 'success';
    }

    /** A top-up service: credit its package's amount to the client's voxcast account. */
    private function topup($stage, $token)
    {
        $target = $this->topupTarget();
        $packageId = (int) $this->package()['id'];
        $body = ['package_id' => $packageId,
                 'reference' => 'WHMCS service #' . $this->serviceId()
                     . ($stage === 'renew' ? ', renewal paid through ' . $token : ', order')];
        $this->write("/tenants/{$target['id']}/topups", $body, $stage === 'renew' ? 'Renew' : 'CreateAccount',
            'topup:' . $target['id'] . ':' . $packageId . ':' . $stage . ':' . $token);
        return 'success';
    }

    /** The voxcast account a top-up credits: the one named on the order (custom field
     *  "voxcast service id"), else the client's voxcast service on this server. */
    public function topupTarget()
    {
        $named = (int) self::customField($this->params['customfields'] ?? [],
            ['voxcast service id', 'service id']);
        if ($named > 0) {
            $tenant = $this->tenant($named);
            if ($tenant !== null && $this->ownsService($named)) {
                return $tenant;
            }
            throw new ApiError("Service #{$named} is not a voxcast account of this client.");
        }
        foreach ($this->clientServices() as $service) {
            $id = (int) ($service['id'] ?? 0);
            if ($id === $this->serviceId()
                    || (string) ($service['serverid'] ?? '') !== (string) ($this->params['serverid'] ?? '')
                    || !in_array($service['status'] ?? '', ['Active', 'Suspended'], true)) {
                continue;
            }
            $tenant = $this->tenant($id);
            if ($tenant !== null) {
                return $tenant;
            }
        }
        throw new ApiError('This client has no voxcast account on this server to credit: order '
            . 'a voxcast package first, then the top-up.');
    }

    private function clientServices()
    {
        if (!function_exists('localAPI')) {
            return [];
        }
        $result = localAPI('GetClientsProducts', ['clientid' => (int) ($this->params['userid'] ?? 0),
            'limitnum' => 1000]);
        $products = $result['products']['product'] ?? [];
        return is_array($products) ? $products : [];
    }

    private function ownsService($serviceId)
    {
        foreach ($this->clientServices() as $service) {
            if ((int) ($service['id'] ?? 0) === (int) $serviceId) {
                return true;
            }
        }
        return false;
    }

    /** The service's next due date once WHMCS has applied the payment (what a renewal paid
     *  for), from the service model WHMCS 7+ passes, or the API; today as the last resort. */
    public function paidThrough()
    {
        $model = $this->params['model'] ?? null;
        if (is_object($model) && !empty($model->nextduedate)) {
            return substr((string) $model->nextduedate, 0, 10);
        }
        if (function_exists('localAPI')) {
            $result = localAPI('GetClientsProducts', ['serviceid' => $this->serviceId()]);
            $due = $result['products']['product'][0]['nextduedate'] ?? '';
            if ($due !== '' && $due !== '0000-00-00') {
                return substr((string) $due, 0, 10);
            }
        }
        return gmdate('Y-m-d');
    }

    public function singleSignOn()
    {
        $tenant = $this->requireTenant();
        $body = [];
        $response = $this->api->post("/tenants/{$tenant['id']}/sso", $body,
            null, 'ServiceSingleSignOn');  // a new link each time: nothing to replay
        $url = (string) ($response->data['url'] ?? '');
        if ($url === '') {
            throw new ApiError('voxcast gave no sign-in link.');
        }
        return $url;
    }

    // --- helpers -----------------------------------------------------------------------------

    public static function slug($text)
    {
        $text = strtolower((string) $text);
        if (function_exists('iconv')) {
            $ascii = @iconv('UTF-8', 'ASCII//TRANSLIT', $text);
            if ($ascii !== false) {
                $text = strtolower($ascii);
            }
        }
        $text = preg_replace('/[^a-z0-9]+/', '-', $text);
        return trim(substr(trim($text, '-'), 0, 32), '-');
    }

    public static function suffixed($value, $suffix, $max)
    {
        return rtrim(substr($value, 0, $max - strlen($suffix)), '-') . $suffix;
    }

    /** The Login e-mail option: its value, or the label if WHMCS stored that. */
    public static function notify($option)
    {
        $option = strtolower(trim((string) $option));
        if (strpos($option, 'activation') !== false) {
            return 'activation';
        }
        if ($option === 'none' || strpos($option, 'no e-mail') !== false) {
            return 'none';
        }
        return 'credentials';
    }

    public static function language($option, $clientLanguage)
    {
        $option = strtolower(trim((string) $option));
        if (preg_match('/^[a-z]{2}$/', $option)) {
            return $option;
        }
        $map = ['english' => 'en', 'german' => 'de', 'deutsch' => 'de'];
        return $map[strtolower(trim((string) $clientLanguage))] ?? '';
    }

    public static function yes($option)
    {
        return in_array(strtolower((string) $option), ['on', 'yes', '1', 'true'], true);
    }

    /** A custom field by name, case- and space-insensitive ("Subdomain" or "subdomain|Sub domain"). */
    public static function customField(array $fields, array $names)
    {
        foreach ($fields as $name => $value) {
            $plain = strtolower(trim(explode('|', (string) $name)[0]));
            if (in_array($plain, $names, true) && trim((string) $value) !== '') {
                return trim((string) $value);
            }
        }
        return '';
    }
}
