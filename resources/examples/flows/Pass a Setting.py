import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    # get a Cloudomation resource
    setting = system.setting('my-setting')

    # pass the Cloudomation resource to the flow
    this.flow(
        'Setting Writer',
        name='write setting',
        setting=setting,
    )
    return this.success('all done')
