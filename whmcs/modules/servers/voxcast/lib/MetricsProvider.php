<?php
/**
 * WHMCS usage billing (7.9+): voice minutes, SMS messages, fax pages and e-mails of each
 * voxcast service this month, from GET /api/v1/tenants/{id}/usage.
 *
 * WHMCS calls usage() from its cron for every service on the server (keyed by the service's
 * username, the module's ListAccountsUniqueIdentifierField) and tenantUsage($username) for
 * one service.
 */

namespace WHMCS\Module\Server\Voxcast;

use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;
use WHMCS\UsageBilling\Metrics\Metric;
use WHMCS\UsageBilling\Metrics\Units\WholeNumber;
use WHMCS\UsageBilling\Metrics\Usage;

class MetricsProvider implements ProviderInterface
{
    /** metric system name => the field of voxcast's usage answer */
    const FIELDS = [
        'voice_minutes' => 'minutes',
        'sms_messages' => 'sms_messages',
        'fax_pages' => 'fax_pages',
        'emails' => 'emails',
    ];

    private $moduleParams;
    private $api;

    public function __construct(array $moduleParams, ApiClient $api = null)
    {
        $this->moduleParams = $moduleParams;
        $this->api = $api;
    }

    private function api()
    {
        if ($this->api === null) {
            $this->api = new ApiClient($this->moduleParams);
        }
        return $this->api;
    }

    public function metrics()
    {
        return [
            'voice_minutes' => new Metric('voice_minutes', 'Voice minutes',
                MetricInterface::TYPE_PERIOD_MONTH, new WholeNumber('Minutes', 'Minute', 'Minutes')),
            'sms_messages' => new Metric('sms_messages', 'SMS messages',
                MetricInterface::TYPE_PERIOD_MONTH, new WholeNumber('Messages', 'Message', 'Messages')),
            'fax_pages' => new Metric('fax_pages', 'Fax pages',
                MetricInterface::TYPE_PERIOD_MONTH, new WholeNumber('Pages', 'Page', 'Pages')),
            'emails' => new Metric('emails', 'E-mails',
                MetricInterface::TYPE_PERIOD_MONTH, new WholeNumber('E-mails', 'E-mail', 'E-mails')),
        ];
    }

    /** Every voxcast service of this server: username => MetricInterface[]. */
    public function usage()
    {
        $usage = [];
        foreach (Accounts::whmcsTenants($this->api()) as $serviceId => $tenant) {
            $username = $this->usernameOf($serviceId);
            if ($username !== '') {
                $usage[$username] = $this->wrap($this->monthUsage($tenant['id']));
            }
        }
        return $usage;
    }

    /** One service, by its username (what WHMCS keeps as the tenant of its metrics). */
    public function tenantUsage($tenant)
    {
        $serviceId = $this->serviceIdOf((string) $tenant);
        if ($serviceId === 0) {
            return [];
        }
        $provisioner = new Provisioner(['serviceid' => $serviceId] + $this->moduleParams, $this->api());
        $row = $provisioner->tenant();
        return $row === null ? [] : $this->wrap($this->monthUsage($row['id']));
    }

    /** This calendar month so far (WHMCS's TYPE_PERIOD_MONTH). */
    public function monthUsage($tenantId)
    {
        return $this->api()->get("/tenants/{$tenantId}/usage", 'MetricProvider',
            ['from' => gmdate('Y-m-01'), 'to' => gmdate('Y-m-d')])->data;
    }

    public function wrap(array $data)
    {
        $start = strtotime(gmdate('Y-m-01') . ' 00:00:00 UTC');
        $wrapped = [];
        foreach ($this->metrics() as $name => $metric) {
            $value = $data[self::FIELDS[$name]] ?? 0;
            $wrapped[$name] = $metric->withUsage(new Usage((float) $value, time(), $start, time()));
        }
        return $wrapped;
    }

    private function usernameOf($serviceId)
    {
        if (!function_exists('localAPI')) {
            return '';
        }
        $result = localAPI('GetClientsProducts', ['serviceid' => (int) $serviceId]);
        return (string) ($result['products']['product'][0]['username'] ?? '');
    }

    private function serviceIdOf($username)
    {
        if ($username === '' || !function_exists('localAPI')) {
            return 0;
        }
        $result = localAPI('GetClientsProducts', ['username2' => $username, 'limitnum' => 100]);
        foreach ($result['products']['product'] ?? [] as $service) {
            if (!isset($this->moduleParams['serverid'])
                    || (string) ($service['serverid'] ?? '') === (string) $this->moduleParams['serverid']) {
                return (int) $service['id'];
            }
        }
        return 0;
    }
}
