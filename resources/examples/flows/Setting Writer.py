import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    # get the passed Cloudomation resource
    setting = inputs['setting']

    # write the setting
    setting.save(value='my value')

    return this.success('all done')
