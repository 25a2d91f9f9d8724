<?php
/**
 * The voxcast WHMCS module's functions, called as WHMCS calls them, against the live voxcast
 * web server the pytest driver (tests/integration/test_whmcs_module.py) started. The driver
 * runs one @group at a time and checks voxcast's state in between.
 *
 * Environment: VOXCAST_WHMCS_DB (the WHMCS database file), VOXCAST_SERVICE (the voxcast
 * service's id), VOXCAST_TOPUP_SERVICE, VOXCAST_PACKAGE / VOXCAST_PACKAGE2 / VOXCAST_TOPUP
 * (package ids), VOXCAST_EXPECT_* (usage the driver recorded).
 */

use PHPUnit\Framework\TestCase;
use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;

final class VoxcastModuleTest extends TestCase
{
    private static function env($name)
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            throw new RuntimeException("{$name} is not set (the pytest driver sets it)");
        }
        return $value;
    }

    private static function service()
    {
        return (int) self::env('VOXCAST_SERVICE');
    }

    private static function params(array $overrides = [])
    {
        return ModuleParams::forService(self::service(), $overrides);
    }

    private static function setStatus($serviceId, $status)
    {
        $services = &WhmcsTestDb::services();
        $services[(string) $serviceId]['domainstatus'] = $status;  // what WHMCS does on success
    }

    private static function lastLog($action)
    {
        foreach (array_reverse(WhmcsTestDb::$moduleLog) as $entry) {
            if ($entry['action'] === $action) {
                return $entry;
            }
        }
        return null;
    }

    /** @group connection */
    public function test_given_the_module_when_whmcs_reads_its_metadata_then_it_needs_a_server_and_offers_sso(): void
    {
        $meta = voxcast_MetaData();
        $this->assertSame('voxcast', $meta['DisplayName']);
        $this->assertSame('1.1', $meta['APIVersion']);
        $this->assertTrue($meta['RequiresServer']);
        $this->assertNotEmpty($meta['ServiceSingleSignOnLabel']);
        $this->assertSame('username', $meta['ListAccountsUniqueIdentifierField']);
    }

    /** @group connection */
    public function test_given_a_server_when_the_package_dropdown_loads_then_it_lists_voxcasts_packages(): void
    {
        $options = voxcast_ConfigOptions();
        $this->assertSame('voxcast_LoaderPackages', $options['Package']['Loader']);
        $this->assertArrayHasKey('Login e-mail', $options);
        $packages = voxcast_LoaderPackages(ModuleParams::forServer(1));
        $this->assertArrayHasKey((int) self::env('VOXCAST_PACKAGE'), $packages);
        $this->assertArrayHasKey((int) self::env('VOXCAST_TOPUP'), $packages);
        $this->assertStringContainsString('(topup)', $packages[(int) self::env('VOXCAST_TOPUP')]);
    }

    /** @group connection */
    public function test_given_the_servers_key_when_testing_the_connection_then_it_succeeds(): void
    {
        $this->assertSame(['success' => true, 'error' => ''], voxcast_TestConnection(ModuleParams::forServer(1)));
        $log = self::lastLog('TestConnection');
        $this->assertNotNull($log, 'every request is in the module log');
        $this->assertStringNotContainsString(self::env('VOXCAST_API_KEY'), $log['request'] . $log['response'],
            'the API key is masked in the module log');
    }

    /** @group connection */
    public function test_given_a_wrong_key_or_port_when_testing_the_connection_then_it_says_why(): void
    {
        $wrong = voxcast_TestConnection(['serveraccesshash' => 'vx_not-a-key'] + ModuleParams::forServer(1));
        $this->assertFalse($wrong['success']);
        $this->assertStringContainsString('401', $wrong['error']);

        $closed = voxcast_TestConnection(['serverport' => '1'] + ModuleParams::forServer(1));
        $this->assertFalse($closed['success']);
        $this->assertStringContainsString('did not answer', $closed['error']);

        $nokey = voxcast_TestConnection(['serveraccesshash' => '', 'serverpassword' => ''] + ModuleParams::forServer(1));
        $this->assertFalse($nokey['success']);
        $this->assertStringContainsString('API key', $nokey['error']);
    }

    /** @group connection */
    public function test_given_the_servers_settings_when_the_address_is_built_then_secure_means_https(): void
    {
        $base = ['serveraccesshash' => 'vx_key', 'serverport' => ''];
        $url = function (array $server) use ($base) {
            return (new \WHMCS\Module\Server\Voxcast\ApiClient($server + $base))->baseUrl();
        };
        $this->assertSame('https://voxcast.example.com/api/v1',
            $url(['serverhostname' => 'voxcast.example.com', 'serversecure' => true]));
        $this->assertSame('http://voxcast.example.com/api/v1',
            $url(['serverhostname' => 'voxcast.example.com', 'serversecure' => false]));
        $this->assertSame('https://voxcast.example.com:8443/api/v1',
            $url(['serverhostname' => 'voxcast.example.com', 'serversecure' => true, 'serverport' => '8443']));
        $this->assertSame('https://voxcast.example.com/api/v1',
            $url(['serverhostname' => 'voxcast.example.com', 'serversecure' => true, 'serverport' => '443']));
        $this->assertSame('http://10.0.0.5/api/v1', $url(['serverhostname' => '', 'serverip' => '10.0.0.5']));
        $this->assertSame('https://voxcast.example.com/api/v1',
            $url(['serverhostname' => 'https://voxcast.example.com/', 'serversecure' => false]));
        $password = new \WHMCS\Module\Server\Voxcast\ApiClient(
            ['serverhostname' => 'h', 'serveraccesshash' => '', 'serverpassword' => 'vx_pw']);
        $this->assertSame('http://h/api/v1', $password->baseUrl(), 'the Password field serves as the key too');
    }

    /** @group create */
    public function test_given_a_paid_order_when_creating_the_account_then_voxcast_provisions_it_once(): void
    {
        $this->assertSame('voxcast has no account for this service (external id whmcs-' . self::service()
            . '): create it first.', voxcast_SuspendAccount(self::params()), 'nothing to act on yet');
        $this->assertSame('success', voxcast_CreateAccount(self::params()));
        self::setStatus(self::service(), 'Active');
        // WHMCS retries (an admin presses Create again): recognised, nothing created twice
        $this->assertSame('success', voxcast_CreateAccount(self::params()));
        $create = self::lastLog('CreateAccount');
        $this->assertNotNull($create);
        $this->assertStringNotContainsString(self::params()['password'], $create['request'],
            'the service password is masked in the module log');
    }

    /** @group create */
    public function test_given_a_product_without_a_package_when_creating_then_the_error_says_so(): void
    {
        $result = voxcast_CreateAccount(self::params(['configoption1' => '']));
        $this->assertStringContainsString('Choose the voxcast package', $result);
    }

    /** @group suspend */
    public function test_given_an_overdue_service_when_suspending_then_it_succeeds_and_a_retry_too(): void
    {
        $this->assertSame('success', voxcast_SuspendAccount(self::params(['suspendreason' => 'Overdue on Payment'])));
        self::setStatus(self::service(), 'Suspended');
        $this->assertSame('success', voxcast_SuspendAccount(self::params()));
    }

    /** @group unsuspend */
    public function test_given_a_suspended_service_when_unsuspending_then_it_succeeds(): void
    {
        $this->assertSame('success', voxcast_UnsuspendAccount(self::params()));
        self::setStatus(self::service(), 'Active');
        $this->assertSame('success', voxcast_UnsuspendAccount(self::params()));
    }

    /** @group resuspend */
    public function test_given_a_service_suspended_and_unsuspended_before_when_suspended_again_then_it_is_suspended(): void
    {
        // the same key as the first suspension: voxcast replays that answer, the module sees
        // the account is not suspended now and sends the suspension once more under a new key
        $this->assertSame('success', voxcast_SuspendAccount(self::params()));
        self::setStatus(self::service(), 'Suspended');
        $replays = array_filter(WhmcsTestDb::$moduleLog, function ($e) {
            return $e['action'] === 'SuspendAccount' && strpos($e['processed'], '[replayed] => 1') !== false;
        });
        $this->assertCount(1, $replays, 'the first attempt was answered from the idempotency store');
    }

    /** @group changepackage */
    public function test_given_an_upgrade_when_changing_the_package_then_it_succeeds(): void
    {
        $this->assertSame((string) self::env('VOXCAST_PACKAGE2'), (string) self::params()['configoption1']);
        $this->assertSame('success', voxcast_ChangePackage(self::params()));
        $this->assertSame('success', voxcast_ChangePackage(self::params()), 'a retry changes nothing more');
        $refused = voxcast_ChangePackage(self::params(['configoption1' => self::env('VOXCAST_TOPUP')]));
        $this->assertStringContainsString('top-up package', $refused);
    }

    /** @group downgrade */
    public function test_given_more_users_than_the_smaller_package_allows_when_downgrading_then_the_error_says_which_limit(): void
    {
        $result = voxcast_ChangePackage(self::params());
        $this->assertStringContainsString('downgrade-refused', $result);
        $this->assertStringContainsString('max_users', $result);
        // WHMCS retries: voxcast replays the stored refusal, the module asks again afresh
        $this->assertStringContainsString('downgrade-refused', voxcast_ChangePackage(self::params()));
        $posts = array_values(array_filter(WhmcsTestDb::$moduleLog, function ($e) {
            return $e['action'] === 'ChangePackage' && strpos($e['request'], '/package') !== false;
        }));
        $this->assertCount(3, $posts);
        $this->assertStringContainsString('[replayed] => 1', $posts[1]['processed']);
        $this->assertStringContainsString('[replayed] => ', $posts[2]['processed']);
        $this->assertStringNotContainsString('[replayed] => 1', $posts[2]['processed']);
    }

    /** @group downgrade-ok */
    public function test_given_the_users_removed_when_whmcs_retries_the_downgrade_then_it_applies(): void
    {
        $this->assertSame('success', voxcast_ChangePackage(self::params()));
    }

    /** @group password */
    public function test_given_a_new_password_when_changing_it_then_it_succeeds(): void
    {
        $this->assertSame('success', voxcast_ChangePassword(self::params()));
        $short = voxcast_ChangePassword(self::params(['password' => 'short']));
        $this->assertStringContainsString('at least 8 characters', $short);
    }

    /** @group renew */
    public function test_given_a_paid_renewal_when_renewing_then_it_succeeds_once_however_often_whmcs_calls(): void
    {
        $this->assertSame('success', voxcast_Renew(self::params()));
        $this->assertSame('success', voxcast_Renew(self::params()));
    }

    /** @group usage */
    public function test_given_calls_and_messages_when_whmcs_collects_usage_then_the_metric_provider_reports_them(): void
    {
        $provider = voxcast_MetricProvider(ModuleParams::forServer(1));
        $this->assertInstanceOf(ProviderInterface::class, $provider);
        $metrics = $provider->metrics();
        $this->assertSame(['voice_minutes', 'sms_messages', 'fax_pages', 'emails'], array_keys($metrics));
        foreach ($metrics as $metric) {
            $this->assertSame(MetricInterface::TYPE_PERIOD_MONTH, $metric->type());
        }
        $username = self::params()['username'];
        $this->assertNotSame('', $username, 'CreateAccount left the voxcast login on the service');
        $expect = ['voice_minutes' => 'VOXCAST_EXPECT_MINUTES', 'sms_messages' => 'VOXCAST_EXPECT_SMS',
                   'fax_pages' => 'VOXCAST_EXPECT_FAX_PAGES', 'emails' => 'VOXCAST_EXPECT_EMAILS'];
        $tenant = $provider->tenantUsage($username);
        $all = $provider->usage();
        $this->assertArrayHasKey($username, $all);
        foreach ($expect as $name => $env) {
            $this->assertEquals((float) self::env($env), $tenant[$name]->usage()->value(), $name);
            $this->assertEquals((float) self::env($env), $all[$username][$name]->usage()->value(), $name);
        }
        $this->assertSame([], $provider->tenantUsage('nobody-here'));
        ModuleParams::result('tenant_usage', array_map(function ($m) { return $m->usage()->value(); }, $tenant));
    }

    /** @group usage */
    public function test_given_the_daily_cron_when_usage_update_runs_then_tblhosting_has_disk_use_and_quota(): void
    {
        $this->assertSame('success', voxcast_UsageUpdate(ModuleParams::forServer(1)));
        $row = WhmcsTestDb::services()[(string) self::service()];
        $this->assertArrayHasKey('lastupdate', $row);
        $this->assertGreaterThan(0, $row['disklimit']);
        $this->assertSame((int) self::env('VOXCAST_EXPECT_DISK_LIMIT'), (int) $row['disklimit']);
    }

    /** @group usage */
    public function test_given_the_client_area_when_the_client_opens_the_service_then_balance_usage_and_package_show(): void
    {
        $area = voxcast_ClientArea(self::params());
        $this->assertSame('templates/overview.tpl', $area['tabOverviewModuleOutputTemplate']);
        $this->assertFileExists(dirname(__DIR__, 2) . '/whmcs/modules/servers/voxcast/templates/overview.tpl');
        $vars = $area['templateVariables'];
        $this->assertSame((int) self::env('VOXCAST_PACKAGE2'), (int) $vars['package']['id']);
        $this->assertEquals((float) self::env('VOXCAST_EXPECT_MINUTES'), (float) $vars['usage']['minutes']);
        $this->assertNotSame('', $vars['balance']);

        $tab = voxcast_AdminServicesTabFields(self::params());
        $this->assertArrayHasKey('voxcast account', $tab);
        $this->assertStringContainsString('active', $tab['voxcast account']);
        $this->assertStringContainsString('voxcast usage', implode(',', array_keys($tab)));
    }

    /** @group sso */
    public function test_given_an_active_service_when_the_client_clicks_log_in_then_a_one_time_link_comes_back(): void
    {
        $sso = voxcast_ServiceSingleSignOn(self::params());
        $this->assertTrue($sso['success'], $sso['errorMsg'] ?? '');
        $this->assertStringContainsString('/sso/', $sso['redirectTo']);
        ModuleParams::result('sso_url', $sso['redirectTo']);
    }

    /** @group topup */
    public function test_given_a_topup_order_when_creating_it_then_the_clients_balance_is_credited_once(): void
    {
        $topup = ModuleParams::forService((int) self::env('VOXCAST_TOPUP_SERVICE'));
        $this->assertSame('success', voxcast_CreateAccount($topup));
        $this->assertSame('success', voxcast_CreateAccount($topup), 'a retry credits nothing more');
        self::setStatus($topup['serviceid'], 'Active');
        $this->assertSame('success', voxcast_SuspendAccount($topup), 'a top-up has nothing to suspend');
        $area = voxcast_ClientArea($topup);
        $this->assertSame('templates/topup.tpl', $area['tabOverviewReplacementTemplate']);
        $stranger = ModuleParams::forService((int) self::env('VOXCAST_TOPUP_SERVICE'), ['userid' => 999999]);
        $this->assertStringContainsString('no voxcast account', voxcast_Renew($stranger));
    }

    /** @group terminate */
    public function test_given_a_cancelled_service_when_terminating_then_it_is_gone_and_a_retry_succeeds(): void
    {
        $this->assertSame('success', voxcast_TerminateAccount(self::params()));
        self::setStatus(self::service(), 'Terminated');
        $this->assertSame('success', voxcast_TerminateAccount(self::params()));
        $area = voxcast_ClientArea(self::params());
        $this->assertSame('templates/error.tpl', $area['tabOverviewReplacementTemplate']);
        $sso = voxcast_ServiceSingleSignOn(self::params());
        $this->assertFalse($sso['success']);
        $this->assertStringContainsString('no account', $sso['errorMsg']);
    }
}
