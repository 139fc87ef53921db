import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    initial_value = 42

    new_value = this.flow(
        'Calculator',
        name='calculate new value',
        initial_value=initial_value, # passing initial_value to the flow 'Calculator'
    ).get('output_value')['result'] # getting 'result' field of the output_value of the flow 'Calculator'

    this.flow(
        'Messenger',
        name='create message with result',
        message_value=new_value, # passing new_value to the flow 'Messenger'
    )
    return this.success('all done')
